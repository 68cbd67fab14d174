//! Values of the differentiated graph: float tensors (generic over [`Real`]) and integer
//! tensors (shapes, indices), read from ONNX tensors; and broadcasting helpers.

use std::sync::Arc;

use ndarray::{ArrayD, Axis, IxDyn};
use tract_onnx::pb;

/// The float type a graph is evaluated in: f32 for speed, f64 for checks.
pub trait Real: ndarray::NdFloat + Default + std::iter::Sum {
    fn of(v: f64) -> Self;
    fn as_f64(self) -> f64;
    /// The graph's constants in this type.
    fn constants(c: &Constants) -> &Arc<Vec<Option<Value<Self>>>>;
}

impl Real for f32 {
    fn of(v: f64) -> Self {
        v as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn constants(c: &Constants) -> &Arc<Vec<Option<Value<Self>>>> {
        &c.f32
    }
}

impl Real for f64 {
    fn of(v: f64) -> Self {
        v
    }
    fn as_f64(self) -> f64 {
        self
    }
    fn constants(c: &Constants) -> &Arc<Vec<Option<Value<Self>>>> {
        c.f64
            .get_or_init(|| Arc::new(c.f32.iter().map(|v| v.as_ref().map(Value::widen)).collect()))
    }
}

/// A graph's constant values (initializers and `Constant` nodes) by value id, converted once
/// to float32, the precision the model runs in: a forward pass borrows them instead of
/// converting the weights each time. A float64 pass (the finite-difference checks) widens
/// them, exactly, the first time it is asked for, so a model the window runs holds one copy.
#[derive(Debug, Default)]
pub struct Constants {
    f32: Arc<Vec<Option<Value<f32>>>>,
    f64: std::sync::OnceLock<Arc<Vec<Option<Value<f64>>>>>,
}

impl Constants {
    pub fn new(values: Vec<Option<Value<f64>>>) -> Self {
        let f32 = values.iter().map(|v| v.as_ref().map(Value::cast)).collect();
        Constants {
            f32: Arc::new(f32),
            f64: std::sync::OnceLock::new(),
        }
    }

    /// The constant `id` in float type `T`, if `id` is a constant.
    pub fn get<T: Real>(&self, id: usize) -> Option<&Value<T>> {
        T::constants(self).get(id)?.as_ref()
    }
}

/// A value of the graph.
#[derive(Clone, Debug)]
pub enum Value<T> {
    /// A float tensor.
    F(ArrayD<T>),
    /// An integer tensor (shapes, axes, indices).
    I(ArrayD<i64>),
}

impl Value<f64> {
    /// The value in float type `T`.
    pub fn cast<T: Real>(&self) -> Value<T> {
        match self {
            Value::F(a) => Value::F(a.mapv(T::of)),
            Value::I(a) => Value::I(a.clone()),
        }
    }
}

impl Value<f32> {
    /// The value in float64 (exact).
    pub fn widen(&self) -> Value<f64> {
        match self {
            Value::F(a) => Value::F(a.mapv(f64::from)),
            Value::I(a) => Value::I(a.clone()),
        }
    }
}

impl<T: Real> Value<T> {
    pub fn shape(&self) -> &[usize] {
        match self {
            Value::F(a) => a.shape(),
            Value::I(a) => a.shape(),
        }
    }

    /// The float tensor, or why not.
    pub fn float(&self) -> Result<&ArrayD<T>, String> {
        match self {
            Value::F(a) => Ok(a),
            Value::I(_) => Err("expects a float tensor, got integers".into()),
        }
    }

    /// The values as integers (a float tensor is truncated, as shapes computed in float are).
    pub fn ints(&self) -> Vec<i64> {
        match self {
            Value::F(a) => a.iter().map(|&v| v.as_f64() as i64).collect(),
            Value::I(a) => a.iter().copied().collect(),
        }
    }
}

/// An ONNX tensor as a value (float types as f64, integer types as i64).
pub fn from_proto(t: &pb::TensorProto) -> Result<Value<f64>, String> {
    let dims: Vec<usize> = t.dims.iter().map(|&d| d.max(0) as usize).collect();
    let n: usize = dims.iter().product();
    if t.data_location == Some(1) || !t.external_data.is_empty() {
        return Err(format!(
            "gradients: tensor `{}` keeps its data outside the file",
            t.name
        ));
    }
    let raw = &t.raw_data;
    let floats: Option<Vec<f64>> = match t.data_type {
        1 if !raw.is_empty() => Some(
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .collect(),
        ),
        1 => Some(t.float_data.iter().map(|&v| v as f64).collect()),
        11 if !raw.is_empty() => Some(
            raw.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
        ),
        11 => Some(t.double_data.clone()),
        _ => None,
    };
    let ints: Option<Vec<i64>> = match t.data_type {
        7 if !raw.is_empty() => Some(
            raw.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
        ),
        7 => Some(t.int64_data.clone()),
        6 if !raw.is_empty() => Some(
            raw.chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect(),
        ),
        6 | 5 | 3 | 4 | 2 | 9 if raw.is_empty() => {
            Some(t.int32_data.iter().map(|&v| v as i64).collect())
        }
        9 | 2 | 3 => Some(raw.iter().map(|&b| b as i8 as i64).collect()),
        _ => None,
    };
    let bad = || {
        format!(
            "gradients: tensor `{}` holds {} values for shape {dims:?}",
            t.name, n
        )
    };
    match (floats, ints) {
        (Some(f), _) => ArrayD::from_shape_vec(IxDyn(&dims), f)
            .map(Value::F)
            .map_err(|_| bad()),
        (None, Some(i)) => ArrayD::from_shape_vec(IxDyn(&dims), i)
            .map(Value::I)
            .map_err(|_| bad()),
        _ => Err(format!(
            "gradients: tensor `{}` has element type {}, which has no gradient rule",
            t.name, t.data_type
        )),
    }
}

/// `g` (the gradient of a broadcast result) summed back to `shape`.
pub fn unbroadcast<T: Real>(g: ArrayD<T>, shape: &[usize]) -> ArrayD<T> {
    if g.shape() == shape {
        return g;
    }
    let mut g = g;
    while g.ndim() > shape.len() {
        g = g.sum_axis(Axis(0));
    }
    for (axis, &d) in shape.iter().enumerate() {
        if d == 1 && g.shape()[axis] != 1 {
            g = g.sum_axis(Axis(axis)).insert_axis(Axis(axis));
        }
    }
    g
}

/// An ONNX axis (negative counts from the end) for rank `rank`.
pub fn axis(a: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    let a = if a < 0 { a + r } else { a };
    if (0..r.max(1)).contains(&a) {
        Ok(a as usize)
    } else {
        Err(format!("axis {a} is outside a rank-{rank} tensor"))
    }
}

/// `a` in standard (row-major) layout, copied only when it is not.
pub fn standard<T: Clone>(a: ArrayD<T>) -> ArrayD<T> {
    if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    }
}

/// The values of `a` in standard (row-major) order: borrowed when `a` is laid out so, copied
/// otherwise.
pub fn row_major<T: Clone>(a: &ArrayD<T>) -> std::borrow::Cow<'_, [T]> {
    match a.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(a.iter().cloned().collect()),
    }
}
