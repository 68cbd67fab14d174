//! Each operator's value.

use ndarray::{ArrayD, Axis, IxDyn, Slice};

use super::conv;
use super::ops::Op;
pub use super::rules::{
    axes_of, bn_affine, clip_bounds, erf, gemm_ab, legacy_shape, matmul, pad_spec, reduce_axes,
    reshape_dims, scaler_affine, slice_spec, softmax, t2,
};
use super::tensor::{Real, Value, axis, standard};

pub type Args<'a, T> = [Option<&'a Value<T>>];

/// Float input `i`.
pub fn f<'a, T: Real>(args: &Args<'a, T>, i: usize) -> Result<&'a ArrayD<T>, String> {
    args.get(i)
        .copied()
        .flatten()
        .ok_or_else(|| format!("input {i} is missing"))?
        .float()
}

/// Integer input `i`, if given.
pub fn opt_ints<T: Real>(args: &Args<T>, i: usize) -> Option<Vec<i64>> {
    args.get(i).copied().flatten().map(Value::ints)
}

/// Scalar float input `i`, if given.
pub fn opt_scalar<T: Real>(args: &Args<T>, i: usize) -> Option<f64> {
    args.get(i).copied().flatten().and_then(|v| match v {
        Value::F(a) => a.iter().next().map(|&v| v.as_f64()),
        Value::I(a) => a.iter().next().map(|&v| v as f64),
    })
}

fn floats<T: Real>(a: ArrayD<T>) -> Result<Vec<Value<T>>, String> {
    Ok(vec![Value::F(a)])
}

/// The value of one node.
pub fn eval<T: Real>(op: &Op, args: &Args<T>) -> Result<Vec<Value<T>>, String> {
    let unary =
        |g: &dyn Fn(T) -> T| -> Result<Vec<Value<T>>, String> { floats(f(args, 0)?.mapv(g)) };
    match op {
        Op::Conv { window, group } => {
            let bias = args
                .get(2)
                .copied()
                .flatten()
                .map(Value::float)
                .transpose()?;
            floats(conv::conv(f(args, 0)?, f(args, 1)?, bias, window, *group)?)
        }
        Op::Gemm { alpha, beta, .. } => {
            let (a, b) = gemm_ab(op, f(args, 0)?, f(args, 1)?)?;
            let mut y = matmul(&a, &b)?.mapv(|v| v * T::of(*alpha));
            if let Some(c) = args.get(2).copied().flatten() {
                y = &y + &c.float()?.mapv(|v| v * T::of(*beta));
            }
            floats(y)
        }
        Op::MatMul => floats(matmul(f(args, 0)?, f(args, 1)?)?),
        Op::Add | Op::Sub | Op::Mul | Op::Div => {
            if let (Some(Value::I(a)), Some(Value::I(b))) =
                (args[0], args.get(1).copied().flatten())
            {
                let r = match op {
                    Op::Add => a + b,
                    Op::Sub => a - b,
                    Op::Mul => a * b,
                    _ => a / b,
                };
                return Ok(vec![Value::I(r)]);
            }
            let (a, b) = (f(args, 0)?, f(args, 1)?);
            let y = match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                _ => a / b,
            };
            floats(y)
        }
        Op::Neg => unary(&|v| -v),
        Op::Relu => unary(&|v| v.max(T::zero())),
        Op::LeakyRelu(a) => unary(&|v| if v >= T::zero() { v } else { v * T::of(*a) }),
        Op::Elu(a) => unary(&|v| {
            if v >= T::zero() {
                v
            } else {
                T::of(*a) * (v.exp() - T::one())
            }
        }),
        Op::Sigmoid => unary(&|v| T::one() / (T::one() + (-v).exp())),
        Op::Tanh => unary(&|v| v.tanh()),
        Op::Exp => unary(&|v| v.exp()),
        Op::Log => unary(&|v| v.ln()),
        Op::Sqrt => unary(&|v| v.sqrt()),
        Op::Abs => unary(&|v| v.abs()),
        Op::Erf => unary(&|v| T::of(erf(v.as_f64()))),
        Op::Softplus => unary(&|v| if v > T::of(30.0) { v } else { v.exp().ln_1p() }),
        Op::Clip { .. } => {
            let (lo, hi) = clip_bounds(op, args);
            unary(&|v| v.max(T::of(lo)).min(T::of(hi)))
        }
        Op::HardSigmoid { alpha, beta } => unary(&|v| {
            (T::of(*alpha) * v + T::of(*beta))
                .max(T::zero())
                .min(T::one())
        }),
        Op::HardSwish => unary(&|v| v * (v / T::of(6.0) + T::of(0.5)).max(T::zero()).min(T::one())),
        Op::Gelu { tanh } => {
            if *tanh {
                let c = T::of((2.0 / std::f64::consts::PI).sqrt());
                unary(&|v| {
                    T::of(0.5) * v * (T::one() + (c * (v + T::of(0.044715) * v * v * v)).tanh())
                })
            } else {
                unary(&|v| T::of(0.5) * v * (T::one() + T::of(erf(v.as_f64() / 2f64.sqrt()))))
            }
        }
        Op::Softmax { axis: a, legacy } | Op::LogSoftmax { axis: a, legacy } => {
            let x = f(args, 0)?;
            let log = matches!(op, Op::LogSoftmax { .. });
            let ax = axis(*a, x.ndim())?;
            if *legacy && ax + 1 != x.ndim() {
                let m = standard(x.clone())
                    .into_shape_with_order(IxDyn(&legacy_shape(x.shape(), ax)))
                    .map_err(|e| e.to_string())?;
                let y = softmax(&m, 1, log);
                return floats(
                    y.into_shape_with_order(x.raw_dim())
                        .map_err(|e| e.to_string())?,
                );
            }
            floats(softmax(x, ax, log))
        }
        Op::BatchNorm { epsilon } => {
            let x = f(args, 0)?;
            let (a, b) = bn_affine(args, *epsilon, x.ndim())?;
            floats(x * &a + &b)
        }
        Op::MaxPool(w) => floats(conv::pool(f(args, 0)?, w, true, false, None)?),
        Op::AveragePool {
            window,
            count_include_pad,
        } => floats(conv::pool(
            f(args, 0)?,
            window,
            false,
            *count_include_pad,
            None,
        )?),
        Op::GlobalAveragePool | Op::GlobalMaxPool => {
            let x = f(args, 0)?;
            if x.ndim() < 3 {
                return Err(format!("pools a tensor of shape {:?}", x.shape()));
            }
            let (n, c) = (x.shape()[0], x.shape()[1]);
            let rest: usize = x.shape()[2..].iter().product();
            let m = standard(x.clone())
                .into_shape_with_order((n, c, rest))
                .map_err(|e| e.to_string())?;
            let mut shape = vec![n, c];
            shape.extend(std::iter::repeat_n(1, x.ndim() - 2));
            let y = if matches!(op, Op::GlobalAveragePool) {
                m.sum_axis(Axis(2)).mapv(|v| v / T::of(rest.max(1) as f64))
            } else {
                m.fold_axis(Axis(2), T::neg_infinity(), |&a, &b| a.max(b))
            };
            floats(
                y.into_shape_with_order(IxDyn(&shape))
                    .map_err(|e| e.to_string())?,
            )
        }
        Op::Reduce { mean, keepdims, .. } => {
            let x = f(args, 0)?;
            let axes = reduce_axes(op, args, x.ndim())?;
            let mut y = x.clone();
            let mut count = 1usize;
            for &a in axes.iter().rev() {
                count *= x.shape()[a];
                y = y.sum_axis(Axis(a));
                if *keepdims {
                    y = y.insert_axis(Axis(a));
                }
            }
            if *mean {
                y.mapv_inplace(|v| v / T::of(count.max(1) as f64));
            }
            floats(y)
        }
        Op::Flatten(a) => {
            let v = args[0].ok_or("input 0 is missing")?;
            let ax = axis(*a, v.shape().len() + 1)?;
            let dims = legacy_shape(v.shape(), ax);
            reshape_value(v, &dims)
        }
        Op::Reshape { allowzero } => {
            let v = args[0].ok_or("input 0 is missing")?;
            let to = opt_ints(args, 1).ok_or("has no shape")?;
            reshape_value(v, &reshape_dims(v.shape(), &to, *allowzero)?)
        }
        Op::Squeeze(given) => {
            let v = args[0].ok_or("input 0 is missing")?;
            let shape = v.shape();
            let axes: Vec<usize> = match axes_of(given, args) {
                Some(a) => a
                    .iter()
                    .map(|&a| axis(a, shape.len()))
                    .collect::<Result<_, _>>()?,
                None => (0..shape.len()).filter(|&i| shape[i] == 1).collect(),
            };
            let dims: Vec<usize> = (0..shape.len())
                .filter(|i| !axes.contains(i))
                .map(|i| shape[i])
                .collect();
            reshape_value(v, &dims)
        }
        Op::Unsqueeze(given) => {
            let v = args[0].ok_or("input 0 is missing")?;
            let axes = axes_of(given, args).ok_or("has no axes")?;
            let rank = v.shape().len() + axes.len();
            let mut axes: Vec<usize> = axes
                .iter()
                .map(|&a| axis(a, rank))
                .collect::<Result<_, _>>()?;
            axes.sort_unstable();
            let mut dims = v.shape().to_vec();
            for a in axes {
                dims.insert(a.min(dims.len()), 1);
            }
            reshape_value(v, &dims)
        }
        Op::Transpose(perm) => {
            let v = args[0].ok_or("input 0 is missing")?;
            let rank = v.shape().len();
            let perm: Vec<usize> = match perm {
                Some(p) => p.iter().map(|&a| axis(a, rank)).collect::<Result<_, _>>()?,
                None => (0..rank).rev().collect(),
            };
            Ok(vec![match v {
                Value::F(a) => Value::F(
                    a.clone()
                        .permuted_axes(perm)
                        .as_standard_layout()
                        .into_owned(),
                ),
                Value::I(a) => Value::I(
                    a.clone()
                        .permuted_axes(perm)
                        .as_standard_layout()
                        .into_owned(),
                ),
            }])
        }
        Op::Concat(a) => {
            let present: Vec<&Value<T>> = args.iter().copied().flatten().collect();
            let rank = present.first().ok_or("has no inputs")?.shape().len();
            let ax = Axis(axis(*a, rank)?);
            if present.iter().all(|v| matches!(v, Value::I(_))) {
                let views: Vec<_> = present
                    .iter()
                    .filter_map(|v| match v {
                        Value::I(a) => Some(a.view()),
                        _ => None,
                    })
                    .collect();
                return Ok(vec![Value::I(
                    ndarray::concatenate(ax, &views).map_err(|e| e.to_string())?,
                )]);
            }
            let views: Vec<_> = present
                .iter()
                .map(|v| v.float().map(|a| a.view()))
                .collect::<Result<_, _>>()?;
            floats(ndarray::concatenate(ax, &views).map_err(|e| e.to_string())?)
        }
        Op::Slice { .. } => {
            let v = args[0].ok_or("input 0 is missing")?;
            let spec = slice_spec(op, args, v.shape())?;
            Ok(vec![match v {
                Value::F(a) => Value::F(cut(a.view(), &spec)),
                Value::I(a) => Value::I(cut(a.view(), &spec)),
            }])
        }
        Op::Pad { value, .. } => {
            let x = f(args, 0)?;
            let spec = pad_spec(op, args, x.ndim())?;
            let fill = opt_scalar(args, 2).unwrap_or(*value);
            let dims: Vec<usize> = x
                .shape()
                .iter()
                .zip(&spec)
                .map(|(&d, &(b, e))| d + b + e)
                .collect();
            let mut y = ArrayD::from_elem(IxDyn(&dims), T::of(fill));
            let mut inner = y.view_mut();
            for (ax, &(b, _)) in spec.iter().enumerate() {
                inner.slice_axis_inplace(Axis(ax), Slice::from(b..b + x.shape()[ax]));
            }
            inner.assign(x);
            floats(y)
        }
        Op::Identity => Ok(vec![args[0].ok_or("input 0 is missing")?.clone()]),
        Op::Cast { to_float } => {
            let v = args[0].ok_or("input 0 is missing")?;
            Ok(vec![match (v, to_float) {
                (Value::F(_), true) | (Value::I(_), false) => v.clone(),
                (Value::I(a), true) => Value::F(a.mapv(|i| T::of(i as f64))),
                (Value::F(a), false) => Value::I(a.mapv(|x| x.as_f64() as i64)),
            }])
        }
        Op::Shape { start, end } => {
            let shape = args[0].ok_or("input 0 is missing")?.shape();
            let r = shape.len() as i64;
            let norm = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
            let (s, e) = (norm(*start), norm(end.unwrap_or(r)));
            let dims: Vec<i64> = shape[s..e.max(s)].iter().map(|&d| d as i64).collect();
            Ok(vec![Value::I(ndarray::Array1::from(dims).into_dyn())])
        }
        Op::Gather(a) => {
            let v = args[0].ok_or("input 0 is missing")?;
            let idx = args.get(1).copied().flatten().ok_or("has no indices")?;
            let ax = axis(*a, v.shape().len())?;
            let n = v.shape()[ax] as i64;
            let picks: Vec<usize> = idx
                .ints()
                .iter()
                .map(|&i| (if i < 0 { i + n } else { i }).clamp(0, n - 1) as usize)
                .collect();
            let scalar = idx.shape().is_empty();
            if idx.shape().len() > 1 {
                return Err("gathers with indices of rank above 1".into());
            }
            Ok(vec![match v {
                Value::F(a) if scalar => Value::F(a.index_axis(Axis(ax), picks[0]).to_owned()),
                Value::F(a) => Value::F(a.select(Axis(ax), &picks)),
                Value::I(a) if scalar => Value::I(a.index_axis(Axis(ax), picks[0]).to_owned()),
                Value::I(a) => Value::I(a.select(Axis(ax), &picks)),
            }])
        }
        Op::Scaler { offset, scale } => {
            let x = f(args, 0)?;
            let (o, s) = scaler_affine::<T>(offset, scale, *x.shape().last().unwrap_or(&1));
            floats((x - &o) * &s)
        }
    }
}

fn reshape_value<T: Real>(v: &Value<T>, dims: &[usize]) -> Result<Vec<Value<T>>, String> {
    let bad = |e: ndarray::ShapeError| format!("cannot reshape {:?} to {dims:?}: {e}", v.shape());
    Ok(vec![match v {
        Value::F(a) => Value::F(
            standard(a.clone())
                .into_shape_with_order(IxDyn(dims))
                .map_err(bad)?,
        ),
        Value::I(a) => Value::I(
            standard(a.clone())
                .into_shape_with_order(IxDyn(dims))
                .map_err(bad)?,
        ),
    }])
}

/// The slice `spec` of `view`.
fn cut<A: Clone>(
    mut view: ndarray::ArrayViewD<'_, A>,
    spec: &[(usize, isize, isize, isize)],
) -> ArrayD<A> {
    for &(ax, s, e, st) in spec {
        view.slice_axis_inplace(Axis(ax), Slice::new(s, Some(e), st));
    }
    view.to_owned()
}
