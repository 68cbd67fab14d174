//! The tree-ensemble parser: structured attributes (small ids so that trees, leaves and weights
//! refer to each other often) → `TreeEnsemble::from_node`. An ensemble that parses is evaluated
//! on the input's rows, and explained by both TreeSHAP modes, whose attributions must add up to
//! the raw sums exactly (up to rounding).
#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use loupe::explain::{Background, Link, TreeShap};
use loupe::model::trees::TreeEnsemble;
use ndarray::Array2;
use tract_onnx::pb::{AttributeProto, NodeProto};

#[derive(Arbitrary, Debug)]
struct FNode {
    tree: u8,
    id: u8,
    feature: i8,
    mode: u8,
    value: f32,
    yes: u8,
    no: u8,
    missing: bool,
}

#[derive(Arbitrary, Debug)]
struct FWeight {
    tree: u8,
    node: u8,
    target: i8,
    weight: f32,
}

#[derive(Arbitrary, Debug)]
struct Input {
    classifier: bool,
    nodes: Vec<FNode>,
    weights: Vec<FWeight>,
    /// Class labels (classifier) or `n_targets` (regressor).
    outputs: i64,
    string_labels: bool,
    post_transform: u8,
    aggregate: u8,
    base_values: Vec<f32>,
    track_missing: bool,
    values: Vec<f32>,
}

const MODES: [&str; 8] = [
    "BRANCH_LEQ",
    "BRANCH_LT",
    "BRANCH_GTE",
    "BRANCH_GT",
    "BRANCH_EQ",
    "BRANCH_NEQ",
    "LEAF",
    "LEAF",
];
const POST: [&str; 6] = [
    "NONE",
    "LOGISTIC",
    "SOFTMAX",
    "SOFTMAX_ZERO",
    "PROBIT",
    "NONE",
];
const AGGREGATE: [&str; 4] = ["SUM", "AVERAGE", "MIN", "MAX"];

fn ints(name: &str, v: impl IntoIterator<Item = i64>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.into_iter().collect(),
        ..Default::default()
    }
}

fn floats(name: &str, v: impl IntoIterator<Item = f32>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        floats: v.into_iter().collect(),
        ..Default::default()
    }
}

fn strings(name: &str, v: impl IntoIterator<Item = String>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        strings: v.into_iter().map(String::into_bytes).collect(),
        ..Default::default()
    }
}

fn string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: v.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn node_proto(input: &Input) -> NodeProto {
    let n = &input.nodes;
    let w = &input.weights;
    let prefix = if input.classifier { "class" } else { "target" };
    let mut attribute = vec![
        ints("nodes_treeids", n.iter().map(|n| (n.tree % 4) as i64)),
        ints("nodes_nodeids", n.iter().map(|n| (n.id % 32) as i64)),
        ints("nodes_featureids", n.iter().map(|n| n.feature as i64)),
        strings(
            "nodes_modes",
            n.iter()
                .map(|n| MODES[n.mode as usize % MODES.len()].to_string()),
        ),
        floats("nodes_values", n.iter().map(|n| n.value)),
        ints("nodes_truenodeids", n.iter().map(|n| (n.yes % 32) as i64)),
        ints("nodes_falsenodeids", n.iter().map(|n| (n.no % 32) as i64)),
        ints(
            &format!("{prefix}_treeids"),
            w.iter().map(|w| (w.tree % 4) as i64),
        ),
        ints(
            &format!("{prefix}_nodeids"),
            w.iter().map(|w| (w.node % 32) as i64),
        ),
        ints(&format!("{prefix}_ids"), w.iter().map(|w| w.target as i64)),
        floats(&format!("{prefix}_weights"), w.iter().map(|w| w.weight)),
        string(
            "post_transform",
            POST[input.post_transform as usize % POST.len()],
        ),
        string(
            "aggregate_function",
            AGGREGATE[input.aggregate as usize % AGGREGATE.len()],
        ),
        floats("base_values", input.base_values.iter().copied()),
    ];
    if input.track_missing {
        attribute.push(ints(
            "nodes_missing_value_tracks_true",
            n.iter().map(|n| n.missing as i64),
        ));
    }
    if input.classifier {
        let count = input.outputs.rem_euclid(6);
        if input.string_labels {
            attribute.push(strings(
                "classlabels_strings",
                (0..count).map(|k| format!("c{k}")),
            ));
        } else {
            attribute.push(ints("classlabels_int64s", 0..count));
        }
    } else {
        attribute.push(AttributeProto {
            name: "n_targets".into(),
            i: input.outputs,
            ..Default::default()
        });
    }
    NodeProto {
        op_type: if input.classifier {
            "TreeEnsembleClassifier"
        } else {
            "TreeEnsembleRegressor"
        }
        .into(),
        name: "fuzz".into(),
        attribute,
        ..Default::default()
    }
}

/// Sum of attributions plus the expectation against the raw sums, per target.
fn check_additive(shap: &TreeShap, trees: &TreeEnsemble, x: &[f32]) {
    let phi = shap.raw_attributions(x);
    let raw = trees.raw(x);
    let targets = raw.len();
    for t in 0..targets {
        let terms: Vec<f64> = (0..x.len())
            .map(|f| phi[f * targets + t])
            .chain([shap.mean_raw()[t]])
            .collect();
        if !terms.iter().chain([&raw[t]]).all(|v| v.is_finite()) {
            continue;
        }
        let total: f64 = terms.iter().sum();
        let scale: f64 = terms.iter().map(|v| v.abs()).sum::<f64>() + raw[t].abs();
        assert!(
            (total - raw[t]).abs() <= 1e-9 * scale.max(1.0),
            "not additive for target {t}: {total} against {} (row {x:?})",
            raw[t]
        );
    }
}

fuzz_target!(|input: Input| {
    loupe_fuzz::guard_aware_panics();
    if input.nodes.len() > 96 || input.weights.len() > 96 {
        return;
    }
    let trees = match TreeEnsemble::from_node(&node_proto(&input)) {
        Ok(trees) => trees,
        Err(e) => return loupe_fuzz::note(&format!("refused: {e}")),
    };
    // Rows as wide as the features the trees read, as the model's own input would be.
    let width = trees.n_features_used.max(1);
    if width > 16 {
        return;
    }
    let n_rows = (input.values.len() / width).clamp(1, 8);
    let mut values = input.values.clone();
    values.resize(n_rows * width, 0.0);
    let x = Array2::from_shape_vec((n_rows, width), values).unwrap_or_default();
    let mut out = vec![0f32; n_rows * trees.n_columns()];
    trees.eval_rows(x.as_slice().unwrap_or_default(), width, &mut out);

    let trees = Arc::new(trees);
    let Ok(background) = Background::all(x.view()) else {
        return;
    };
    for link in [Link::Identity, Link::Logit] {
        let modes = [
            TreeShap::interventional(Arc::clone(&trees), &background, link),
            TreeShap::path_dependent(Arc::clone(&trees), x.view(), link),
        ];
        for (mode, shap) in modes.into_iter().enumerate() {
            let Ok(shap) = shap else {
                continue;
            };
            for row in x.rows() {
                check_additive(&shap, &trees, row.as_slice().unwrap_or_default());
            }
            loupe_fuzz::note(&format!(
                "explained mode {mode} {link:?}: {} trees, {} rows",
                trees.n_trees(),
                x.nrows()
            ));
        }
    }
});
