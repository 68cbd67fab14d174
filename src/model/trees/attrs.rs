//! Typed reading of an ONNX node's attributes ([`Attrs`]), naming the node and attribute in
//! every error, and the values of a numeric tensor as f64 ([`tensor_reals`]).

use std::collections::HashMap;

use tract_onnx::pb::{AttributeProto, NodeProto, TensorProto};

/// Reads typed attributes off a node, naming the node and attribute in every error.
pub(super) struct Attrs<'a> {
    node: &'a NodeProto,
    by_name: HashMap<&'a str, &'a AttributeProto>,
}

impl<'a> Attrs<'a> {
    pub(super) fn new(node: &'a NodeProto) -> Self {
        let by_name = node
            .attribute
            .iter()
            .map(|a| (a.name.as_str(), a))
            .collect();
        Attrs { node, by_name }
    }

    pub(super) fn err(&self, what: String) -> String {
        let name = if self.node.name.is_empty() {
            self.node
                .output
                .first()
                .map(String::as_str)
                .unwrap_or("unnamed")
        } else {
            self.node.name.as_str()
        };
        format!("{} node `{name}`: {what}", self.node.op_type)
    }

    pub(super) fn ints(&self, name: &str) -> Vec<i64> {
        self.by_name
            .get(name)
            .map(|a| a.ints.clone())
            .unwrap_or_default()
    }

    pub(super) fn strings(&self, name: &str) -> Vec<String> {
        self.by_name
            .get(name)
            .map(|a| {
                a.strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn string(&self, name: &str) -> Option<String> {
        self.by_name
            .get(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    pub(super) fn int(&self, name: &str) -> Option<i64> {
        self.by_name.get(name).map(|a| a.i)
    }

    /// A float list, or its double `<name>_as_tensor` form.
    pub(super) fn reals(&self, name: &str) -> Result<Vec<f64>, String> {
        if let Some(t) = self
            .by_name
            .get(format!("{name}_as_tensor").as_str())
            .and_then(|a| a.t.as_ref())
        {
            return tensor_reals(t).map_err(|e| self.err(format!("`{name}_as_tensor` {e}")));
        }
        Ok(self
            .by_name
            .get(name)
            .map(|a| a.floats.iter().map(|&f| f as f64).collect())
            .unwrap_or_default())
    }
}

/// The values of a float, double or integer tensor, as f64.
pub(crate) fn tensor_reals(t: &TensorProto) -> Result<Vec<f64>, String> {
    const FLOAT: i32 = 1;
    const INT32: i32 = 6;
    const INT64: i32 = 7;
    const DOUBLE: i32 = 11;
    /// Little-endian values of `N` bytes each from `raw_data`.
    fn raw<const N: usize>(t: &TensorProto, value: impl Fn([u8; N]) -> f64) -> Vec<f64> {
        t.raw_data
            .chunks_exact(N)
            .map(|c| value(c.try_into().unwrap_or([0; N])))
            .collect()
    }
    fn widen<T: Copy + Into<f64>>(v: &[T]) -> Vec<f64> {
        v.iter().map(|&x| x.into()).collect()
    }
    match t.data_type {
        INT64 if !t.int64_data.is_empty() => Ok(t.int64_data.iter().map(|&v| v as f64).collect()),
        INT64 => Ok(raw::<8>(t, |b| i64::from_le_bytes(b) as f64)),
        INT32 if !t.int32_data.is_empty() => Ok(widen(&t.int32_data)),
        INT32 => Ok(raw::<4>(t, |b| i32::from_le_bytes(b) as f64)),
        DOUBLE if !t.double_data.is_empty() => Ok(t.double_data.clone()),
        DOUBLE => Ok(raw::<8>(t, f64::from_le_bytes)),
        FLOAT if !t.float_data.is_empty() => Ok(widen(&t.float_data)),
        FLOAT => Ok(raw::<4>(t, |b| f32::from_le_bytes(b) as f64)),
        other => Err(format!("has element type {other}, expected a number")),
    }
}
