//! The rules' shared pieces: shapes and axes read from operators and their inputs, products,
//! per-channel affine forms, the error function and softmax.

use ndarray::{ArrayD, Axis, IxDyn};

use super::forward::{Args, f, opt_ints, opt_scalar};
use super::ops::Op;
use super::tensor::{Real, axis, standard};

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
