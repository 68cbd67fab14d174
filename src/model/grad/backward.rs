//! Each operator's vector–Jacobian product: the gradients of its inputs from the gradient of
//! its output (and the values of the forward pass).

use ndarray::{ArrayD, Axis, IxDyn, Slice};

use super::conv;
use super::forward::{
    self, Args, bn_affine, clip_bounds, f, gemm_ab, legacy_shape, matmul, pad_spec, reduce_axes,
    scaler_affine, slice_spec, t2,
};
use super::ops::Op;
use super::tensor::{Real, Value, axis, standard, unbroadcast};

type Grads<T> = Vec<Option<ArrayD<T>>>;

/// `g` reshaped to `shape` (a view change: same values, same order).
fn reshaped<T: Real>(g: ArrayD<T>, shape: &[usize]) -> Result<ArrayD<T>, String> {
    standard(g)
        .into_shape_with_order(IxDyn(shape))
        .map_err(|e| e.to_string())
}

/// The gradients of `op`'s inputs (where `needed`) from the gradients of its outputs `outs`.
pub fn vjp<T: Real>(
    op: &Op,
    args: &Args<T>,
    results: &Args<T>,
    outs: Vec<Option<ArrayD<T>>>,
    needed: &[bool],
) -> Result<Grads<T>, String> {
    let mut grads: Grads<T> = vec![None; args.len()];
    let Some(g) = outs.into_iter().next().flatten() else {
        return Ok(grads);
    };
    let x = || f(args, 0);
    let y = || f(results, 0);
    // Elementwise: the output gradient times the derivative at each input value.
    // (In place: the output gradient is not needed after.)
    let local = |mut g: ArrayD<T>, d: &(dyn Fn(T) -> T + Sync)| -> Result<ArrayD<T>, String> {
        ndarray::Zip::from(&mut g)
            .and(x()?)
            .par_for_each(|o, &v| *o *= d(v));
        Ok(g)
    };
    let from_y = |mut g: ArrayD<T>, d: &(dyn Fn(T) -> T + Sync)| -> Result<ArrayD<T>, String> {
        ndarray::Zip::from(&mut g)
            .and(y()?)
            .par_for_each(|o, &v| *o *= d(v));
        Ok(g)
    };
    let (zero, one) = (T::zero(), T::one());
    let first = match op {
        Op::Conv { window, group } => {
            let x = x()?;
            Some(conv::conv_input_grad(
                &g,
                x.shape(),
                f(args, 1)?,
                window,
                *group,
            )?)
        }
        Op::Gemm {
            alpha,
            beta,
            trans_a,
            trans_b,
        } => {
            let (a, b) = gemm_ab(op, x()?, f(args, 1)?)?;
            let gs = g.mapv(|v| v * T::of(*alpha));
            if needed.get(1) == Some(&true) {
                let gb = matmul(&t2(&a), &gs)?;
                grads[1] = Some(if *trans_b { t2(&gb) } else { gb });
            }
            if needed.get(2) == Some(&true) {
                let c = f(args, 2)?;
                grads[2] = Some(unbroadcast(g.mapv(|v| v * T::of(*beta)), c.shape()));
            }
            let ga = matmul(&gs, &t2(&b))?;
            Some(if *trans_a { t2(&ga) } else { ga })
        }
        Op::MatMul => {
            let (a, b) = (x()?, f(args, 1)?);
            if needed.get(1) == Some(&true) {
                // A product of two computed values: the second operand's gradient too.
                let gb = matmul(&t2(a), &g)?;
                grads[1] = Some(unbroadcast(gb, b.shape()));
            }
            Some(matmul(&g, &t2(b))?)
        }
        Op::Add | Op::Sub | Op::Mul | Op::Div => {
            let (a, b) = (x()?, f(args, 1)?);
            let (ga, gb) = match op {
                Op::Add => (g.clone(), g),
                Op::Sub => {
                    let minus = g.mapv(|v| -v);
                    (g, minus)
                }
                Op::Mul => (&g * b, &g * a),
                _ => (&g / b, -(&g * a) / (b * b)),
            };
            if needed.get(1) == Some(&true) {
                grads[1] = Some(unbroadcast(gb, b.shape()));
            }
            Some(unbroadcast(ga, a.shape()))
        }
        Op::Neg => Some(g.mapv(|v| -v)),
        Op::Relu => {
            // The mask, in place and without a call per value.
            let mut g = g;
            ndarray::Zip::from(&mut g).and(x()?).par_for_each(|o, &v| {
                if v <= zero || v.is_nan() {
                    *o = zero;
                }
            });
            Some(g)
        }
        Op::LeakyRelu(a) => Some(local(g, &|v| if v >= zero { one } else { T::of(*a) })?),
        Op::Elu(a) => Some(local(g, &|v| {
            if v >= zero { one } else { T::of(*a) * v.exp() }
        })?),
        Op::Sigmoid => Some(from_y(g, &|s| s * (one - s))?),
        Op::Tanh => Some(from_y(g, &|t| one - t * t)?),
        Op::Exp => Some(from_y(g, &|e| e)?),
        Op::Log => Some(local(g, &|v| one / v)?),
        Op::Sqrt => Some(from_y(g, &|r| T::of(0.5) / r)?),
        Op::Abs => Some(local(g, &|v| if v == zero { zero } else { v.signum() })?),
        Op::Erf => Some(local(g, &|v| {
            T::of(2.0 / std::f64::consts::PI.sqrt()) * (-v * v).exp()
        })?),
        Op::Softplus => Some(local(g, &|v| one / (one + (-v).exp()))?),
        Op::Clip { .. } => {
            let (lo, hi) = clip_bounds(op, args);
            Some(local(g, &|v| {
                if v.as_f64() < lo || v.as_f64() > hi {
                    zero
                } else {
                    one
                }
            })?)
        }
        Op::HardSigmoid { alpha, beta } => Some(local(g, &|v| {
            let z = T::of(*alpha) * v + T::of(*beta);
            if z > zero && z < one {
                T::of(*alpha)
            } else {
                zero
            }
        })?),
        Op::HardSwish => Some(local(g, &|v| {
            let three = T::of(3.0);
            if v < -three {
                zero
            } else if v > three {
                one
            } else {
                v / three + T::of(0.5)
            }
        })?),
        Op::Gelu { tanh } => {
            let pdf = |v: T| {
                T::of((-v.as_f64() * v.as_f64() / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt())
            };
            if *tanh {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                Some(local(g, &|v| {
                    let v = v.as_f64();
                    let u = c * (v + 0.044715 * v * v * v);
                    let t = u.tanh();
                    T::of(
                        0.5 * (1.0 + t)
                            + 0.5 * v * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * v * v),
                    )
                })?)
            } else {
                Some(local(g, &|v| {
                    let cdf = T::of(0.5 * (1.0 + forward::erf(v.as_f64() / 2f64.sqrt())));
                    cdf + v * pdf(v)
                })?)
            }
        }
        Op::Softmax { axis: a, legacy } | Op::LogSoftmax { axis: a, legacy } => {
            let yv = y()?;
            let mut ax = axis(*a, yv.ndim())?;
            let log = matches!(op, Op::LogSoftmax { .. });
            let (mut yy, mut gg) = (yv.clone(), g.clone());
            let legacy_view = *legacy && ax + 1 != yv.ndim();
            if legacy_view {
                let m = legacy_shape(yv.shape(), ax);
                yy = reshaped(yy, &m)?;
                gg = reshaped(gg, &m)?;
                ax = 1;
            }
            let mut out = gg.clone();
            for ((mut o, yl), gl) in out
                .lanes_mut(Axis(ax))
                .into_iter()
                .zip(yy.lanes(Axis(ax)))
                .zip(gg.lanes(Axis(ax)))
            {
                if log {
                    // d/dx (log p) · g = g − p Σ g, with p = exp(log p).
                    let sum: T = gl.iter().copied().sum();
                    for (o, (&l, &gv)) in o.iter_mut().zip(yl.iter().zip(gl)) {
                        *o = gv - l.exp() * sum;
                    }
                } else {
                    // g·J = p ⊙ (g − ⟨g, p⟩).
                    let dot: T = gl.iter().zip(yl).map(|(&a, &b)| a * b).sum();
                    for (o, (&p, &gv)) in o.iter_mut().zip(yl.iter().zip(gl)) {
                        *o = p * (gv - dot);
                    }
                }
            }
            Some(if legacy_view {
                reshaped(out, yv.shape())?
            } else {
                out
            })
        }
        Op::BatchNorm { epsilon } => {
            let x = x()?;
            let (a, _) = bn_affine(args, *epsilon, x.ndim())?;
            Some(&g * &a)
        }
        Op::MaxPool(w) => Some(conv::pool(x()?, w, true, false, Some(&g))?),
        Op::AveragePool {
            window,
            count_include_pad,
        } => Some(conv::pool(
            x()?,
            window,
            false,
            *count_include_pad,
            Some(&g),
        )?),
        Op::GlobalAveragePool => {
            let x = x()?;
            let cells: usize = x.shape()[2..].iter().product();
            let share = g.mapv(|v| v / T::of(cells.max(1) as f64));
            Some(
                share
                    .broadcast(x.raw_dim())
                    .ok_or("cannot spread the gradient")?
                    .to_owned(),
            )
        }
        Op::GlobalMaxPool => {
            let (x, yv) = (x()?, y()?);
            let ysp = yv
                .broadcast(x.raw_dim())
                .ok_or("cannot spread the gradient")?;
            let gsp = g
                .broadcast(x.raw_dim())
                .ok_or("cannot spread the gradient")?;
            // The first maximum of each plane takes the gradient.
            let mut out = ArrayD::<T>::zeros(x.raw_dim());
            let (n, c) = (x.shape()[0], x.shape()[1]);
            for i in 0..n {
                for ch in 0..c {
                    let plane = x.index_axis(Axis(0), i);
                    let plane = plane.index_axis(Axis(0), ch);
                    let m = ysp
                        .index_axis(Axis(0), i)
                        .index_axis(Axis(0), ch)
                        .iter()
                        .next()
                        .copied();
                    let gv = gsp
                        .index_axis(Axis(0), i)
                        .index_axis(Axis(0), ch)
                        .iter()
                        .next()
                        .copied();
                    let at = m.and_then(|m| plane.iter().position(|&v| v == m));
                    if let (Some(gv), Some(at)) = (gv, at) {
                        let mut o = out.index_axis_mut(Axis(0), i);
                        let mut o = o.index_axis_mut(Axis(0), ch);
                        if let Some(slot) = o.iter_mut().nth(at) {
                            *slot = gv;
                        }
                    }
                }
            }
            Some(out)
        }
        Op::Reduce { mean, keepdims, .. } => {
            let x = x()?;
            let axes = reduce_axes(op, args, x.ndim())?;
            let mut gk = g.clone();
            if !*keepdims {
                for &a in &axes {
                    gk = gk.insert_axis(Axis(a));
                }
            }
            let count: usize = axes.iter().map(|&a| x.shape()[a]).product();
            if *mean {
                gk.mapv_inplace(|v| v / T::of(count.max(1) as f64));
            }
            Some(
                gk.broadcast(x.raw_dim())
                    .ok_or("cannot spread the gradient")?
                    .to_owned(),
            )
        }
        Op::Flatten(_) | Op::Reshape { .. } | Op::Squeeze(_) | Op::Unsqueeze(_) => {
            let shape = args[0].ok_or("input 0 is missing")?.shape().to_vec();
            Some(reshaped(g, &shape)?)
        }
        Op::Transpose(perm) => {
            let rank = g.ndim();
            let perm: Vec<usize> = match perm {
                Some(p) => p.iter().map(|&a| axis(a, rank)).collect::<Result<_, _>>()?,
                None => (0..rank).rev().collect(),
            };
            let mut inverse = vec![0; rank];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            Some(standard(g.permuted_axes(inverse)))
        }
        Op::Concat(a) => {
            let rank = g.ndim();
            let ax = axis(*a, rank)?;
            let mut at = 0;
            for (i, arg) in args.iter().enumerate() {
                let Some(v) = arg else { continue };
                let len = v.shape()[ax];
                if needed[i] {
                    grads[i] = Some(g.slice_axis(Axis(ax), Slice::from(at..at + len)).to_owned());
                }
                at += len;
            }
            None
        }
        Op::Slice { .. } => {
            let x = x()?;
            let spec = slice_spec(op, args, x.shape())?;
            let mut out = ArrayD::<T>::zeros(x.raw_dim());
            let mut view = out.view_mut();
            for &(ax, s, e, st) in &spec {
                view.slice_axis_inplace(Axis(ax), Slice::new(s, Some(e), st));
            }
            view.assign(&g);
            Some(out)
        }
        Op::Pad { .. } => {
            let x = x()?;
            let spec = pad_spec(op, args, x.ndim())?;
            let mut view = g.view();
            for (ax, &(b, _)) in spec.iter().enumerate() {
                view.slice_axis_inplace(Axis(ax), Slice::from(b..b + x.shape()[ax]));
            }
            Some(view.to_owned())
        }
        Op::Identity | Op::Cast { to_float: true } => Some(g),
        Op::Cast { to_float: false } | Op::Shape { .. } => None,
        Op::Gather(a) => {
            let x = x()?;
            let idx = args.get(1).copied().flatten().ok_or("has no indices")?;
            let ax = axis(*a, x.ndim())?;
            let n = x.shape()[ax] as i64;
            let mut out = ArrayD::<T>::zeros(x.raw_dim());
            let picks: Vec<usize> = idx
                .ints()
                .iter()
                .map(|&i| (if i < 0 { i + n } else { i }).clamp(0, n - 1) as usize)
                .collect();
            let scalar = idx.shape().is_empty();
            for (k, &p) in picks.iter().enumerate() {
                let part = if scalar {
                    g.view()
                } else {
                    g.index_axis(Axis(ax), k)
                };
                let mut slot = out.index_axis_mut(Axis(ax), p);
                slot += &part;
            }
            Some(out)
        }
        Op::Scaler { offset, scale } => {
            let x = x()?;
            let (_, s) = scaler_affine::<T>(offset, scale, *x.shape().last().unwrap_or(&1));
            Some(&g * &s)
        }
    };
    if let Some(first) = first
        && needed.first() == Some(&true)
    {
        grads[0] = Some(first);
    }
    // A computed float input whose gradient no rule gave would make the result wrong.
    for (i, arg) in args.iter().enumerate() {
        if needed.get(i) == Some(&true) && grads[i].is_none() && matches!(arg, Some(Value::F(_))) {
            return Err(format!("has no gradient rule for its input {i}"));
        }
    }
    Ok(grads)
}
