//! Binding a graph's inputs to the one float matrix Loupe feeds.
//!
//! A model with one float input takes the matrix as it is. Any other — scikit-learn's DataFrame
//! export (one input per column: strings for categories, float, double, int64, bool), or one
//! input of another element type — is rewritten before tract sees it: a single float input
//! `loupe_columns` takes every column side by side, and each original input becomes a `Gather`
//! of its columns (then a `Cast` to the element type the graph declared). Every explainer then
//! sees one column per data column, so a category is one feature whatever the graph encodes it
//! as.
//!
//! Text is fed as numbers: each category the graph's encoders know (`OneHotEncoder`'s
//! `cats_strings`, `LabelEncoder`'s `keys_strings`, `CategoryMapper`'s `cats_strings`) gets a
//! code, the encoders' string attributes are rewritten to those codes, and the data layer reads
//! a cell as its category's code. Between the input and its encoders text may pass only
//! through nodes that move values without computing on them (`Concat`, `Gather`, `Reshape`, …);
//! anything else is refused by name.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{self, GraphProto, NodeProto, attribute_proto::AttributeType};

use super::scores::node_name;
use crate::model::ModelError;
use crate::model::signature::{Dim, TensorInfo};

/// The name of the input Loupe feeds when it rewrites a graph's inputs.
pub(super) const FED_INPUT: &str = "loupe_columns";

/// The most categories a model's encoders may know together (a vocabulary of millions would
/// make every encoded row that wide).
const MAX_CATEGORIES: usize = 100_000;

/// Nodes a text tensor may pass through on its way to an encoder: they move values, and
/// compute nothing a code would change.
const MOVES_VALUES: [&str; 9] = [
    "Concat",
    "Gather",
    "Reshape",
    "Identity",
    "Squeeze",
    "Unsqueeze",
    "Flatten",
    "Slice",
    "Transpose",
];

/// One column of the fed matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct InputColumn {
    /// The data column that feeds it: the input's name when the input is one column, else
    /// `input[j]`.
    pub name: String,
    /// The graph input it reaches.
    pub input: String,
    /// The element type the graph declares for that input (`float`, `string`, `int64`, …).
    pub elem_type: String,
    /// For a text input: the categories the model's encoders know, each with the code it is
    /// fed as.
    pub categories: Option<Vec<(String, f32)>>,
}

/// A rewritten graph's columns.
pub(super) struct Binding {
    pub(super) columns: Vec<InputColumn>,
}

impl Binding {
    /// One column per input: the columns can be matched to the data by name.
    pub(super) fn names_columns(&self) -> bool {
        self.columns.iter().all(|c| c.name == c.input)
    }
}

/// The graph's inputs that are not initialisers.
pub(super) fn graph_inputs(graph: &GraphProto) -> Vec<&pb::ValueInfoProto> {
    let initialised: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    graph
        .input
        .iter()
        .filter(|i| !initialised.contains(i.name.as_str()))
        .collect()
}

/// Rewrites `graph` to take one float matrix, when it does not already (`None`).
pub(super) fn bind(graph: &mut GraphProto) -> Result<Option<Binding>, ModelError> {
    let inputs: Vec<TensorInfo> = graph_inputs(graph)
        .into_iter()
        .map(TensorInfo::of)
        .collect();
    match inputs.as_slice() {
        [] => return Err(ModelError::Invalid("the model has no input".into())),
        [one] if one.elem_type == "float" => return Ok(None),
        _ => {}
    }
    if graph.input.iter().any(|i| i.name == FED_INPUT) {
        return Err(ModelError::Invalid(format!(
            "the model has an input named `{FED_INPUT}`, which Loupe uses for its own"
        )));
    }
    let texts: Vec<&str> = inputs
        .iter()
        .filter(|i| i.elem_type == "string")
        .map(|i| i.name.as_str())
        .collect();
    let codes = if texts.is_empty() {
        Codes::default()
    } else {
        encode_text(graph, &texts)?
    };

    let mut columns = Vec::new();
    let mut nodes = Vec::new();
    let batch = batch_dim(&inputs[0]);
    for info in &inputs {
        let width = input_width(info)?;
        let cast_to = match info.elem_type.as_str() {
            "float" | "string" => None,
            "double" => Some(pb::tensor_proto::DataType::Double),
            "int64" => Some(pb::tensor_proto::DataType::Int64),
            "int32" => Some(pb::tensor_proto::DataType::Int32),
            "bool" => Some(pb::tensor_proto::DataType::Bool),
            other => {
                return Err(ModelError::Invalid(format!(
                    "input `{}` is {other}; Loupe feeds numbers, booleans and text",
                    info.name
                )));
            }
        };
        let first = columns.len() as i64;
        let indices = format!("{}.loupe_indices", info.name);
        graph.initializer.push(match width {
            None => int64_tensor(&indices, &[], &[first]),
            Some(w) => int64_tensor(
                &indices,
                &[w as i64],
                &(first..first + w as i64).collect::<Vec<_>>(),
            ),
        });
        let gathered = match cast_to {
            None => info.name.clone(),
            Some(_) => format!("{}.loupe_gathered", info.name),
        };
        nodes.push(node(
            "Gather",
            &format!("{}.loupe_gather", info.name),
            &[FED_INPUT, &indices],
            &gathered,
            vec![int_attr("axis", 1)],
        ));
        if let Some(to) = cast_to {
            nodes.push(node(
                "Cast",
                &format!("{}.loupe_cast", info.name),
                &[&gathered],
                &info.name,
                vec![int_attr("to", to as i64)],
            ));
        }
        let n = width.unwrap_or(1);
        for j in 0..n {
            let column = width.map(|_| j);
            let categories =
                (info.elem_type == "string").then(|| codes.of_column(&info.name, column));
            columns.push(InputColumn {
                name: if width.is_none() || n == 1 {
                    info.name.clone()
                } else {
                    format!("{}[{j}]", info.name)
                },
                input: info.name.clone(),
                elem_type: info.elem_type.clone(),
                categories,
            });
        }
    }

    let fed: HashSet<String> = inputs.iter().map(|i| i.name.clone()).collect();
    graph.input.retain(|i| !fed.contains(&i.name));
    graph
        .input
        .insert(0, float_matrix(FED_INPUT, batch, columns.len()));
    nodes.append(&mut graph.node);
    graph.node = nodes;
    // The declared types of text tensors are now wrong (they hold codes).
    if !texts.is_empty() {
        graph.value_info.clear();
    }
    Ok(Some(Binding { columns }))
}

/// The number of columns an input of rows × columns has (`None`: a rank-1 input, one value
/// per row).
fn input_width(info: &TensorInfo) -> Result<Option<usize>, ModelError> {
    let Some(dims) = &info.shape else {
        return Err(ModelError::Invalid(format!(
            "input `{}` declares no shape",
            info.name
        )));
    };
    match dims.as_slice() {
        [_] => Ok(None),
        [_, Dim::Fixed(n)] if *n > 0 && *n <= 1 << 20 => Ok(Some(*n as usize)),
        [_, d] => Err(ModelError::Invalid(format!(
            "input `{}` has no fixed number of columns ({d})",
            info.name
        ))),
        _ => Err(ModelError::Invalid(format!(
            "input `{}` has rank {}; Loupe feeds models with several inputs only rows × columns",
            info.name,
            dims.len()
        ))),
    }
}

fn batch_dim(info: &TensorInfo) -> Option<Dim> {
    info.shape.as_ref().and_then(|s| s.first().cloned())
}

/// Where a text tensor's values come from: an input's column, or any column of an input
/// (`None`: the path mixed them).
type Origin = HashSet<(String, Option<usize>)>;

/// The codes of the categories the graph's encoders know, and which input column reaches which.
#[derive(Default)]
struct Codes {
    /// Every category, in the order first met; a category's code is its position.
    table: Vec<String>,
    /// The categories each text input's columns reach.
    reached: HashMap<(String, Option<usize>), Vec<usize>>,
}

impl Codes {
    fn code(&mut self, s: &str, index: &mut HashMap<String, usize>) -> usize {
        *index.entry(s.to_string()).or_insert_with(|| {
            self.table.push(s.to_string());
            self.table.len() - 1
        })
    }

    /// The categories column `column` of text input `input` reaches, in table order.
    fn of_column(&self, input: &str, column: Option<usize>) -> Vec<(String, f32)> {
        let mut codes: Vec<usize> = [column, None]
            .iter()
            .filter_map(|c| self.reached.get(&(input.to_string(), *c)))
            .flatten()
            .copied()
            .collect();
        if column.is_none() {
            // A rank-1 input is one column, however it was reached.
            for ((i, _), c) in &self.reached {
                if i == input {
                    codes.extend(c);
                }
            }
        }
        codes.sort_unstable();
        codes.dedup();
        codes
            .into_iter()
            .map(|c| (self.table[c].clone(), c as f32))
            .collect()
    }
}

/// The constant indices of a `Gather` along columns (axis 1), when `node` is one.
fn gathered_columns(
    node: &NodeProto,
    graph_constants: &HashMap<String, Vec<i64>>,
) -> Option<Vec<usize>> {
    if node.op_type != "Gather" {
        return None;
    }
    let axis = node
        .attribute
        .iter()
        .find(|a| a.name == "axis")
        .map_or(0, |a| a.i);
    if axis != 1 {
        return None;
    }
    let indices = graph_constants.get(node.input.get(1)?)?;
    indices.iter().map(|&i| usize::try_from(i).ok()).collect()
}

/// The int64 initialisers (indices of `Gather`s).
fn int_constants(graph: &GraphProto) -> HashMap<String, Vec<i64>> {
    graph
        .initializer
        .iter()
        .filter(|t| t.data_type == pb::tensor_proto::DataType::Int64 as i32)
        .map(|t| {
            let values = if t.int64_data.is_empty() {
                t.raw_data
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap_or_default()))
                    .collect()
            } else {
                t.int64_data.clone()
            };
            (t.name.clone(), values)
        })
        .collect()
}

/// Gives every category a code and rewrites the encoders to read codes.
fn encode_text(graph: &mut GraphProto, texts: &[&str]) -> Result<Codes, ModelError> {
    let constants = int_constants(graph);
    let mut origin: HashMap<String, Origin> = texts
        .iter()
        .map(|t| (t.to_string(), HashSet::from([(t.to_string(), None)])))
        .collect();
    let mut codes = Codes::default();
    let mut index = HashMap::new();
    // ONNX lists nodes in topological order.
    for node in graph.node.iter_mut() {
        let from: Origin = node
            .input
            .iter()
            .filter_map(|i| origin.get(i))
            .flatten()
            .cloned()
            .collect();
        if from.is_empty() {
            if node.op_type == "Cast"
                && cast_target(node) == Some(pb::tensor_proto::DataType::String as i64)
            {
                return Err(refused(node, "makes text from numbers"));
            }
            continue;
        }
        if MOVES_VALUES.contains(&node.op_type.as_str()) {
            // Columns picked straight from a text input keep which column they are.
            let picked = node
                .input
                .first()
                .filter(|i| texts.contains(&i.as_str()))
                .zip(gathered_columns(node, &constants))
                .map(|(input, cols)| {
                    cols.into_iter()
                        .map(|c| (input.clone(), Some(c)))
                        .collect::<Origin>()
                });
            for out in &node.output {
                origin.insert(out.clone(), picked.clone().unwrap_or_else(|| from.clone()));
            }
            continue;
        }
        let attr = match node.op_type.as_str() {
            "OneHotEncoder" | "CategoryMapper" => "cats_strings",
            "LabelEncoder" => "keys_strings",
            _ => return Err(refused(node, "computes on text")),
        };
        let Some(strings) = node.attribute.iter().find(|a| a.name == attr) else {
            return Err(refused(node, &format!("reads text but has no `{attr}`")));
        };
        let strings: Vec<String> = strings
            .strings
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        let node_codes: Vec<i64> = strings
            .iter()
            .map(|s| codes.code(s, &mut index) as i64)
            .collect();
        if codes.table.len() > MAX_CATEGORIES {
            return Err(ModelError::Invalid(format!(
                "the model's encoders know more than {MAX_CATEGORIES} categories (`{}` node `{}`)",
                node.op_type,
                node_name(node)
            )));
        }
        for source in from {
            codes
                .reached
                .entry(source)
                .or_default()
                .extend(node_codes.iter().map(|&c| c as usize));
        }
        rewrite_encoder(node, &node_codes)?;
    }
    for output in &graph.output {
        if origin.contains_key(&output.name) {
            return Err(ModelError::Invalid(format!(
                "the graph's output `{}` is text taken straight from an input",
                output.name
            )));
        }
    }
    Ok(codes)
}

/// Rewrites an encoder that read text to read its categories' codes.
fn rewrite_encoder(node: &mut NodeProto, codes: &[i64]) -> Result<(), ModelError> {
    let floats: Vec<f32> = codes.iter().map(|&c| c as f32).collect();
    match node.op_type.as_str() {
        "OneHotEncoder" => {
            node.attribute.retain(|a| a.name != "cats_strings");
            node.attribute.push(ints_attr("cats_int64s", codes));
        }
        "LabelEncoder" => {
            if node
                .attribute
                .iter()
                .any(|a| a.name == "values_strings" || a.name == "default_string")
            {
                return Err(refused(node, "maps text to text"));
            }
            node.attribute.retain(|a| a.name != "keys_strings");
            node.attribute.push(floats_attr("keys_floats", &floats));
        }
        "CategoryMapper" => {
            // Text to numbers: the same lookup as a LabelEncoder of codes.
            let values = node
                .attribute
                .iter()
                .find(|a| a.name == "cats_int64s")
                .map(|a| a.ints.clone())
                .unwrap_or_default();
            let default = node
                .attribute
                .iter()
                .find(|a| a.name == "default_int64")
                .map_or(-1, |a| a.i);
            node.op_type = "LabelEncoder".into();
            node.domain = "ai.onnx.ml".into();
            node.attribute = vec![
                floats_attr("keys_floats", &floats),
                ints_attr("values_int64s", &values),
                int_attr("default_int64", default),
            ];
        }
        _ => unreachable!("only encoders are rewritten"),
    }
    Ok(())
}

fn refused(node: &NodeProto, what: &str) -> ModelError {
    ModelError::Invalid(format!(
        "text reaches `{}` (node `{}`), which {what}; Loupe feeds text only to OneHotEncoder, \
         LabelEncoder and CategoryMapper",
        node.op_type,
        node_name(node)
    ))
}

fn cast_target(node: &NodeProto) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == "to").map(|a| a.i)
}

fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    output: &str,
    attribute: Vec<pb::AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

fn int_attr(name: &str, i: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

fn ints_attr(name: &str, ints: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: ints.to_vec(),
        ..Default::default()
    }
}

fn floats_attr(name: &str, floats: &[f32]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Floats as i32,
        floats: floats.to_vec(),
        ..Default::default()
    }
}

fn int64_tensor(name: &str, dims: &[i64], values: &[i64]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: pb::tensor_proto::DataType::Int64 as i32,
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

fn float_matrix(name: &str, batch: Option<Dim>, columns: usize) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    let batch = match batch {
        Some(Dim::Fixed(n)) => Value::DimValue(n),
        Some(Dim::Symbol(s)) => Value::DimParam(s),
        _ => Value::DimParam("N".into()),
    };
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto {
                    dim: vec![
                        Dimension {
                            value: Some(batch),
                            ..Default::default()
                        },
                        Dimension {
                            value: Some(Value::DimValue(columns as i64)),
                            ..Default::default()
                        },
                    ],
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
