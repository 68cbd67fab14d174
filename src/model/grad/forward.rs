//! Each operator's value.

use ndarray::{ArrayD, Axis, IxDyn, Slice};

use super::conv;
use super::ops::Op;
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
fn opt_scalar<T: Real>(args: &Args<T>, i: usize) -> Option<f64> {
    args.get(i).copied().flatten().and_then(|v| match v {
        Value::F(a) => a.iter().next().map(|&v| v.as_f64()),
        Value::I(a) => a.iter().next().map(|&v| v as f64),
    })
}

/// The error function: its Taylor series below 3 (accurate to about 1e-13), Numerical
/// Recipes' erfc above (whose 1.2e-7 relative error is below 3e-12 there).
pub fn erf(x: f64) -> f64 {
    let z = x.abs();
    if z < 3.0 {
        let (mut term, mut sum, x2) = (z, z, z * z);
        for n in 1..100 {
            term *= -x2 / n as f64;
            let t = term / (2 * n + 1) as f64;
            sum += t;
            if t.abs() < 1e-17 {
                break;
            }
        }
        return x.signum() * sum * 2.0 / std::f64::consts::PI.sqrt();
    }
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    x.signum() * (1.0 - t * poly.exp())
}

/// Softmax (or log-softmax) of `x` along `axis`.
pub fn softmax<T: Real>(x: &ArrayD<T>, axis: usize, log: bool) -> ArrayD<T> {
    let mut y = x.clone();
    for mut lane in y.lanes_mut(Axis(axis)) {
        let max = lane.iter().copied().fold(T::neg_infinity(), T::max);
        lane.mapv_inplace(|v| v - max);
        let sum: T = lane.iter().map(|v| v.exp()).sum();
        if log {
            let ls = sum.ln();
            lane.mapv_inplace(|v| v - ls);
        } else {
            lane.mapv_inplace(|v| v.exp() / sum);
        }
    }
    y
}

/// The matrix view of a legacy (opset < 13) softmax input: rows × the product from `axis`.
pub fn legacy_shape(shape: &[usize], axis: usize) -> [usize; 2] {
    [
        shape[..axis].iter().product(),
        shape[axis..].iter().product(),
    ]
}

/// The output shape of Reshape.
pub fn reshape_dims(from: &[usize], to: &[i64], allowzero: bool) -> Result<Vec<usize>, String> {
    let total: usize = from.iter().product();
    let mut out = Vec::with_capacity(to.len());
    let mut infer = None;
    for (i, &d) in to.iter().enumerate() {
        match d {
            0 if !allowzero => out.push(*from.get(i).ok_or("a 0 beyond the input's rank")?),
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            d if d >= 0 => out.push(d as usize),
            d => return Err(format!("cannot reshape to dimension {d}")),
        }
    }
    if let Some(i) = infer {
        let rest: usize = out.iter().product();
        if rest == 0 || !total.is_multiple_of(rest) {
            return Err(format!("cannot reshape {from:?} to {to:?}"));
        }
        out[i] = total / rest;
    }
    if out.iter().product::<usize>() != total {
        return Err(format!("cannot reshape {from:?} to {to:?}"));
    }
    Ok(out)
}

/// The axes a reduction runs over.
pub fn reduce_axes<T: Real>(op: &Op, args: &Args<T>, rank: usize) -> Result<Vec<usize>, String> {
    let Op::Reduce {
        axes, noop_empty, ..
    } = op
    else {
        return Ok(vec![]);
    };
    let given = axes.clone().or_else(|| opt_ints(args, 1));
    match given {
        Some(a) if !a.is_empty() => {
            let mut v: Vec<usize> = a.iter().map(|&a| axis(a, rank)).collect::<Result<_, _>>()?;
            v.sort_unstable();
            v.dedup();
            Ok(v)
        }
        _ if *noop_empty => Ok(vec![]),
        _ => Ok((0..rank).collect()),
    }
}

/// Slice's (axis, start, end, step) per sliced axis, clamped to `shape`.
pub fn slice_spec<T: Real>(
    op: &Op,
    args: &Args<T>,
    shape: &[usize],
) -> Result<Vec<(usize, isize, isize, isize)>, String> {
    let Op::Slice { attrs } = op else {
        return Ok(vec![]);
    };
    let (starts, ends, axes, steps) = match attrs {
        Some((s, e, a)) => (s.clone(), e.clone(), a.clone(), None),
        None => (
            opt_ints(args, 1).ok_or("has no starts")?,
            opt_ints(args, 2).ok_or("has no ends")?,
            opt_ints(args, 3),
            opt_ints(args, 4),
        ),
    };
    let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let mut out = Vec::new();
    for (k, &a) in axes.iter().enumerate() {
        let ax = axis(a, shape.len())?;
        let n = shape[ax] as i64;
        let step = steps.as_ref().map_or(1, |s| s[k]);
        if step <= 0 {
            return Err("slices with a step below 1".into());
        }
        let clamp = |v: i64| {
            let v = if v < 0 { v + n } else { v };
            v.clamp(0, n)
        };
        let (s, e) = (
            clamp(starts[k]),
            clamp(*ends.get(k).ok_or("has fewer ends than starts")?),
        );
        out.push((ax, s as isize, e.max(s) as isize, step as isize));
    }
    Ok(out)
}

/// Pad's (begin, end) per axis.
pub fn pad_spec<T: Real>(
    op: &Op,
    args: &Args<T>,
    rank: usize,
) -> Result<Vec<(usize, usize)>, String> {
    let Op::Pad { pads, .. } = op else {
        return Ok(vec![]);
    };
    let pads = pads
        .clone()
        .or_else(|| opt_ints(args, 1))
        .ok_or("has no pads")?;
    let axes = opt_ints(args, 3)
        .map(|a| {
            a.iter()
                .map(|&a| axis(a, rank))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let axes = axes.unwrap_or_else(|| (0..rank).collect());
    if pads.len() != 2 * axes.len() || pads.iter().any(|&p| p < 0) {
        return Err(format!(
            "has pads {pads:?}; gradients cover non-negative pads"
        ));
    }
    let mut out = vec![(0, 0); rank];
    for (k, &a) in axes.iter().enumerate() {
        out[a] = (pads[k] as usize, pads[k + axes.len()] as usize);
    }
    Ok(out)
}

/// The axes Squeeze removes or Unsqueeze inserts.
pub fn axes_of<T: Real>(given: &Option<Vec<i64>>, args: &Args<T>) -> Option<Vec<i64>> {
    given.clone().or_else(|| opt_ints(args, 1))
}

fn floats<T: Real>(a: ArrayD<T>) -> Result<Vec<Value<T>>, String> {
    Ok(vec![Value::F(a)])
}

/// The batched product `a · b` (b a matrix, or both with the same leading dimensions).
pub fn matmul<T: Real>(a: &ArrayD<T>, b: &ArrayD<T>) -> Result<ArrayD<T>, String> {
    if a.ndim() < 2 || b.ndim() < 2 {
        return Err("multiplies vectors; gradients cover matrices".into());
    }
    let (k, n) = (b.shape()[b.ndim() - 2], b.shape()[b.ndim() - 1]);
    if a.shape()[a.ndim() - 1] != k {
        return Err(format!(
            "cannot multiply {:?} by {:?}",
            a.shape(),
            b.shape()
        ));
    }
    let lead = &a.shape()[..a.ndim() - 1];
    if b.ndim() == 2 {
        let rows: usize = lead.iter().product();
        let a2 = standard(a.clone())
            .into_shape_with_order((rows, k))
            .map_err(|e| e.to_string())?;
        let b2 = b
            .view()
            .into_dimensionality::<ndarray::Ix2>()
            .map_err(|e| e.to_string())?;
        let mut shape = lead.to_vec();
        shape.push(n);
        return standard(a2.dot(&b2).into_dyn())
            .into_shape_with_order(IxDyn(&shape))
            .map_err(|e| e.to_string());
    }
    if a.ndim() != b.ndim() || a.shape()[..a.ndim() - 2] != b.shape()[..b.ndim() - 2] {
        return Err(format!(
            "multiplies {:?} by {:?} with broadcasting",
            a.shape(),
            b.shape()
        ));
    }
    let m = a.shape()[a.ndim() - 2];
    let batch: usize = a.shape()[..a.ndim() - 2].iter().product();
    let a3 = standard(a.clone())
        .into_shape_with_order((batch, m, k))
        .map_err(|e| e.to_string())?;
    let b3 = standard(b.clone())
        .into_shape_with_order((batch, k, n))
        .map_err(|e| e.to_string())?;
    let mut out = ndarray::Array3::<T>::zeros((batch, m, n));
    for i in 0..batch {
        out.index_axis_mut(Axis(0), i)
            .assign(&a3.index_axis(Axis(0), i).dot(&b3.index_axis(Axis(0), i)));
    }
    let mut shape = lead.to_vec();
    shape.push(n);
    out.into_shape_with_order(IxDyn(&shape))
        .map_err(|e| e.to_string())
}

/// Transposes the last two axes.
pub fn t2<T: Real>(a: &ArrayD<T>) -> ArrayD<T> {
    let mut v = a.view();
    let r = v.ndim();
    v.swap_axes(r - 2, r - 1);
    v.to_owned()
}

/// Gemm's operands, transposed as asked.
pub fn gemm_ab<T: Real>(
    op: &Op,
    a: &ArrayD<T>,
    b: &ArrayD<T>,
) -> Result<(ArrayD<T>, ArrayD<T>), String> {
    let Op::Gemm {
        trans_a, trans_b, ..
    } = op
    else {
        return Err("not a Gemm".into());
    };
    if a.ndim() != 2 || b.ndim() != 2 {
        return Err("has operands that are not matrices".into());
    }
    Ok((
        if *trans_a { t2(a) } else { a.clone() },
        if *trans_b { t2(b) } else { b.clone() },
    ))
}

/// BatchNormalization as per-channel `x · a + b`: (a, b) shaped to broadcast over `rank`.
pub fn bn_affine<T: Real>(
    args: &Args<T>,
    epsilon: f64,
    rank: usize,
) -> Result<(ArrayD<T>, ArrayD<T>), String> {
    let (scale, bias, mean, var) = (f(args, 1)?, f(args, 2)?, f(args, 3)?, f(args, 4)?);
    let eps = T::of(epsilon);
    let a: Vec<T> = scale
        .iter()
        .zip(var)
        .map(|(&s, &v)| s / (v + eps).sqrt())
        .collect();
    let b: Vec<T> = bias
        .iter()
        .zip(mean)
        .zip(&a)
        .map(|((&b, &m), &a)| b - m * a)
        .collect();
    let mut shape = vec![1; rank.max(2)];
    shape[1] = a.len();
    let r = |v: Vec<T>| ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| e.to_string());
    Ok((r(a)?, r(b)?))
}

/// Scaler's offset and scale shaped to broadcast over the last axis.
pub fn scaler_affine<T: Real>(
    offset: &[f64],
    scale: &[f64],
    width: usize,
) -> (ArrayD<T>, ArrayD<T>) {
    let pick = |v: &[f64], i: usize, d: f64| match v.len() {
        0 => d,
        1 => v[0],
        _ => v.get(i).copied().unwrap_or(d),
    };
    let o = ArrayD::from_shape_fn(IxDyn(&[width]), |i| T::of(pick(offset, i[0], 0.0)));
    let s = ArrayD::from_shape_fn(IxDyn(&[width]), |i| T::of(pick(scale, i[0], 1.0)));
    (o, s)
}

/// The (min, max) of a Clip, from its attributes or inputs.
pub fn clip_bounds<T: Real>(op: &Op, args: &Args<T>) -> (f64, f64) {
    let Op::Clip { min, max } = op else {
        return (f64::NEG_INFINITY, f64::INFINITY);
    };
    (
        opt_scalar(args, 1).unwrap_or(*min),
        opt_scalar(args, 2).unwrap_or(*max),
    )
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
