//! Convolution and pooling on NCHW tensors, and their input gradients. A convolution runs as
//! im2col + one GEMM per group (ndarray's `dot`, on matrixmultiply's kernels); its input
//! gradient is the transposed product scattered back (col2im). Depthwise convolutions and
//! 1×1 convolutions take direct paths. Work is spread over images, and over output columns or
//! input channels when there are fewer images than cores.

use ndarray::{ArrayD, ArrayView2, ArrayViewMut2, Axis, IxDyn, linalg::general_mat_mul, s};
use rayon::prelude::*;

use super::ops::Window;
use super::tensor::{Real, row_major};

/// The geometry of a 2-D window over an input: sizes, resolved pads, output size.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub dh: usize,
    pub dw: usize,
    pub pt: usize,
    pub pl: usize,
    pub pb: usize,
    pub pr: usize,
    pub oh: usize,
    pub ow: usize,
}

impl Geometry {
    /// `window` (with `kernel` when the window has none) over an `h × w` input.
    pub fn new(window: &Window, kernel: [usize; 2], h: usize, w: usize) -> Result<Self, String> {
        let k = if window.kernel == [0, 0] {
            kernel
        } else {
            window.kernel
        };
        let [sh, sw] = window.strides;
        let [dh, dw] = window.dilations;
        if sh == 0 || sw == 0 || dh == 0 || dw == 0 {
            return Err("has a zero stride or dilation".into());
        }
        let [mut pt, mut pl, mut pb, mut pr] = window.pads;
        if window.auto_pad != 0 {
            let same = |n: usize, k: usize, s: usize, d: usize| {
                let out = n.div_ceil(s);
                let total = ((out - 1) * s + (k - 1) * d + 1).saturating_sub(n);
                if window.auto_pad == 1 {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                }
            };
            (pt, pb) = same(h, k[0], sh, dh);
            (pl, pr) = same(w, k[1], sw, dw);
        }
        let out = |n: usize, p0: usize, p1: usize, k: usize, s: usize, d: usize| {
            let span = (k - 1) * d + 1;
            let padded = n + p0 + p1;
            if padded < span {
                return Err(format!(
                    "a window of {span} does not fit an input of {padded}"
                ));
            }
            let mut o = if window.ceil_mode {
                (padded - span).div_ceil(s) + 1
            } else {
                (padded - span) / s + 1
            };
            // A last window that would start in the right padding is dropped.
            if window.ceil_mode && (o - 1) * s >= n + p0 {
                o -= 1;
            }
            Ok(o)
        };
        Ok(Geometry {
            h,
            w,
            kh: k[0],
            kw: k[1],
            sh,
            sw,
            dh,
            dw,
            pt,
            pl,
            pb,
            pr,
            oh: out(h, pt, pb, k[0], sh, dh)?,
            ow: out(w, pl, pr, k[1], sw, dw)?,
        })
    }

    /// The input row and column tap (i, j) of output (oy, ox) reads, if inside the input.
    #[inline]
    fn at(&self, oy: usize, ox: usize, i: usize, j: usize) -> Option<(usize, usize)> {
        let y = (oy * self.sh + i * self.dh).checked_sub(self.pt)?;
        let x = (ox * self.sw + j * self.dw).checked_sub(self.pl)?;
        (y < self.h && x < self.w).then_some((y, x))
    }

    fn plain_1x1(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.sh == 1
            && self.sw == 1
            && self.pt + self.pl + self.pb + self.pr == 0
    }
}

fn dims4(a: &ArrayD<impl Clone>, what: &str) -> Result<[usize; 4], String> {
    match a.shape() {
        &[n, c, h, w] => Ok([n, c, h, w]),
        s => Err(format!(
            "{what} has shape {s:?}; gradients cover 2-D images (NCHW)"
        )),
    }
}

/// Column chunks for `p` output positions so that `images` images keep every core busy.
fn chunk(p: usize, images: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    if images >= threads {
        p.max(1)
    } else {
        p.div_ceil((2 * threads).div_ceil(images))
            .max(64)
            .min(p.max(1))
    }
}

/// The output columns whose tap `j` reads inside the input: `lo..hi`.
fn columns(g: &Geometry, j: usize) -> (usize, usize) {
    let off = j * g.dw;
    let lo = if off >= g.pl {
        0
    } else {
        (g.pl - off).div_ceil(g.sw)
    };
    let hi = if g.w + g.pl > off {
        (g.w + g.pl - off).div_ceil(g.sw)
    } else {
        0
    };
    (lo.min(g.ow), hi.min(g.ow))
}

/// The input row that output row `oy` reads with tap `i`, if inside the input.
fn input_row(g: &Geometry, oy: usize, i: usize) -> Option<usize> {
    let y = (oy * g.sh + i * g.dh).checked_sub(g.pt)?;
    (y < g.h).then_some(y)
}

/// For tap (i, j) and output positions `p0..p0 + len`, calls `f(q, input index)` for each
/// position `p0 + q` that reads inside the plane, row segment by row segment.
#[inline]
fn taps(g: &Geometry, i: usize, j: usize, p0: usize, len: usize, mut f: impl FnMut(usize, usize)) {
    let (lo, hi) = columns(g, j);
    let off = j * g.dw;
    let (mut q, mut p) = (0, p0);
    while q < len {
        let (oy, ox0) = (p / g.ow, p % g.ow);
        let seg = (g.ow - ox0).min(len - q);
        if let Some(y) = input_row(g, oy, i) {
            let a = lo.clamp(ox0, ox0 + seg);
            let b = hi.clamp(a, ox0 + seg);
            for ox in a..b {
                f(q + ox - ox0, y * g.w + ox * g.sw + off - g.pl);
            }
        }
        q += seg;
        p += seg;
    }
}

/// im2col of channels `c0..c1` of one image for output positions `p0..p0 + cols.ncols()`.
fn im2col<T: Real>(x: &[T], g: &Geometry, c0: usize, c1: usize, p0: usize, cols: &mut [T]) {
    let np = cols.len() / ((c1 - c0) * g.kh * g.kw);
    let mut r = 0;
    for c in c0..c1 {
        let plane = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &mut cols[r * np..(r + 1) * np];
                row.fill(T::zero());
                taps(g, i, j, p0, np, |q, at| row[q] = plane[at]);
                r += 1;
            }
        }
    }
}

/// Conv forward: `x` (N, C, H, W), `w` (M, C/group, kh, kw), optional bias (M).
pub fn conv<T: Real>(
    x: &ArrayD<T>,
    w: &ArrayD<T>,
    bias: Option<&ArrayD<T>>,
    window: &Window,
    group: usize,
) -> Result<ArrayD<T>, String> {
    let [n, c, h, wd] = dims4(x, "the input")?;
    let [m, cg, kh, kw] = dims4(w, "the weight")?;
    if group == 0 || c != cg * group || m % group != 0 {
        return Err(format!(
            "{c} input channels, weight {:?} and {group} groups do not fit",
            w.shape()
        ));
    }
    let g = Geometry::new(window, [kh, kw], h, wd)?;
    let (mg, k, p) = (m / group, cg * kh * kw, g.oh * g.ow);
    let (xs, ws) = (row_major(x), row_major(w));
    let (xs, ws) = (&xs[..], &ws[..]);
    let mut y = ArrayD::<T>::zeros(IxDyn(&[n, m, g.oh, g.ow]));
    let per_image = c * h * wd;
    let depthwise = cg == 1 && mg == 1;
    let step = chunk(p, n);
    y.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(img, mut yn)| {
            let xn = &xs[img * per_image..(img + 1) * per_image];
            let yn = yn.as_slice_mut().unwrap_or_default();
            if depthwise {
                yn.par_chunks_mut(p).enumerate().for_each(|(ch, out)| {
                    let plane = &xn[ch * h * wd..(ch + 1) * h * wd];
                    let kern = &ws[ch * kh * kw..(ch + 1) * kh * kw];
                    for oy in 0..g.oh {
                        for ox in 0..g.ow {
                            let mut acc = T::zero();
                            for i in 0..kh {
                                for j in 0..kw {
                                    if let Some((yy, xx)) = g.at(oy, ox, i, j) {
                                        acc += kern[i * kw + j] * plane[yy * wd + xx];
                                    }
                                }
                            }
                            out[oy * g.ow + ox] = acc;
                        }
                    }
                });
                return;
            }
            let mut yv = ArrayViewMut2::from_shape((m, p), yn).expect("output shape");
            let parts: Vec<(usize, ArrayViewMut2<T>)> = yv
                .axis_chunks_iter_mut(Axis(1), step)
                .enumerate()
                .map(|(i, v)| (i * step, v))
                .collect();
            parts.into_par_iter().for_each(|(p0, mut yc)| {
                let np = yc.ncols();
                let mut cols = vec![T::zero(); if g.plain_1x1() { 0 } else { k * np }];
                for gi in 0..group {
                    let wg = ArrayView2::from_shape((mg, k), &ws[gi * mg * k..(gi + 1) * mg * k])
                        .expect("weight shape");
                    let mut out = yc.slice_mut(s![gi * mg..(gi + 1) * mg, ..]);
                    if g.plain_1x1() {
                        let xg = ArrayView2::from_shape((c, p), xn).expect("input shape");
                        let xg = xg.slice(s![gi * cg..(gi + 1) * cg, p0..p0 + np]);
                        general_mat_mul(T::one(), &wg, &xg, T::zero(), &mut out);
                    } else {
                        im2col(xn, &g, gi * cg, (gi + 1) * cg, p0, &mut cols);
                        let cv = ArrayView2::from_shape((k, np), &cols[..]).expect("cols shape");
                        general_mat_mul(T::one(), &wg, &cv, T::zero(), &mut out);
                    }
                }
            });
        });
    if let Some(b) = bias {
        if b.len() != m {
            return Err(format!("the bias has {} values for {m} channels", b.len()));
        }
        let b = b
            .view()
            .into_shape_with_order(IxDyn(&[1, m, 1, 1]))
            .map_err(|e| e.to_string())?;
        y += &b;
    }
    Ok(y)
}

/// Conv's gradient with respect to its input, from the output gradient `gy`.
pub fn conv_input_grad<T: Real>(
    gy: &ArrayD<T>,
    x_shape: &[usize],
    w: &ArrayD<T>,
    window: &Window,
    group: usize,
) -> Result<ArrayD<T>, String> {
    let &[n, c, h, wd] = x_shape else {
        return Err("the input is not NCHW".into());
    };
    let [m, cg, kh, kw] = dims4(w, "the weight")?;
    let g = Geometry::new(window, [kh, kw], h, wd)?;
    let (mg, k, p, kk) = (m / group, cg * kh * kw, g.oh * g.ow, kh * kw);
    let (gys, ws) = (row_major(gy), row_major(w));
    let (gys, ws) = (&gys[..], &ws[..]);
    let mut dx = ArrayD::<T>::zeros(IxDyn(x_shape));
    let depthwise = cg == 1 && mg == 1;
    let threads = rayon::current_num_threads().max(1);
    let per = if n >= threads {
        c
    } else {
        c.div_ceil(2 * threads.div_ceil(n)).max(1)
    };
    dx.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(img, mut dxn)| {
            let gyn = &gys[img * m * p..(img + 1) * m * p];
            let dxn = dxn.as_slice_mut().unwrap_or_default();
            dxn.par_chunks_mut(per * h * wd)
                .enumerate()
                .for_each(|(chunk_i, dxc)| {
                    let c0 = chunk_i * per;
                    let c1 = (c0 + per).min(c);
                    let mut cur = c0;
                    while cur < c1 {
                        let gi = cur / cg;
                        let end = c1.min((gi + 1) * cg);
                        let dxr = &mut dxc[(cur - c0) * h * wd..(end - c0) * h * wd];
                        if depthwise {
                            let plane = &gyn[gi * p..(gi + 1) * p];
                            let kern = &ws[gi * kk..(gi + 1) * kk];
                            for oy in 0..g.oh {
                                for ox in 0..g.ow {
                                    let gv = plane[oy * g.ow + ox];
                                    for i in 0..kh {
                                        for j in 0..kw {
                                            if let Some((yy, xx)) = g.at(oy, ox, i, j) {
                                                dxr[yy * wd + xx] += kern[i * kw + j] * gv;
                                            }
                                        }
                                    }
                                }
                            }
                        } else {
                            let (l0, l1) = (cur - gi * cg, end - gi * cg);
                            let wg = ArrayView2::from_shape(
                                (mg, k),
                                &ws[gi * mg * k..(gi + 1) * mg * k],
                            )
                            .expect("weight shape");
                            let wt = wg.slice(s![.., l0 * kk..l1 * kk]).reversed_axes();
                            let gyg = ArrayView2::from_shape(
                                (mg, p),
                                &gyn[gi * mg * p..(gi + 1) * mg * p],
                            )
                            .expect("gradient shape");
                            if g.plain_1x1() {
                                let mut out = ArrayViewMut2::from_shape((end - cur, p), dxr)
                                    .expect("input shape");
                                general_mat_mul(T::one(), &wt, &gyg, T::zero(), &mut out);
                            } else {
                                let rows = (l1 - l0) * kk;
                                let mut dcol = ndarray::Array2::<T>::zeros((rows, p));
                                general_mat_mul(T::one(), &wt, &gyg, T::zero(), &mut dcol);
                                let dcol = dcol.as_slice().unwrap_or_default();
                                for cl in 0..(l1 - l0) {
                                    let plane = &mut dxr[cl * h * wd..(cl + 1) * h * wd];
                                    for i in 0..kh {
                                        for j in 0..kw {
                                            let row = &dcol[(cl * kk + i * kw + j) * p..][..p];
                                            taps(&g, i, j, 0, p, |q, at| plane[at] += row[q]);
                                        }
                                    }
                                }
                            }
                        }
                        cur = end;
                    }
                });
        });
    Ok(dx)
}

/// A pool's forward (`grad == None`) or input gradient (`grad` the output gradient) over
/// every (image, channel) plane, tap by tap over row segments. Max pools send the gradient to
/// the first maximum of each window (taps in row-major order); average pools divide by the
/// window's cells inside the input (or inside the padded input with `count_include_pad`).
pub fn pool<T: Real>(
    x: &ArrayD<T>,
    window: &Window,
    max: bool,
    count_include_pad: bool,
    grad: Option<&ArrayD<T>>,
) -> Result<ArrayD<T>, String> {
    let [n, c, h, w] = dims4(x, "the input")?;
    let g = Geometry::new(window, window.kernel, h, w)?;
    let xs = row_major(x);
    // Cells of a window inside the input (or the padded input), in padded coordinates.
    let count = |o: usize, s: usize, k: usize, d: usize, p0: usize, p1: usize, n: usize| {
        (0..k)
            .filter(|&i| {
                let v = o * s + i * d;
                if count_include_pad {
                    v < n + p0 + p1
                } else {
                    v >= p0 && v < p0 + n
                }
            })
            .count()
    };
    let plane_in = h * w;
    let plane_out = g.oh * g.ow;
    let divisors: Vec<T> = if max {
        Vec::new()
    } else {
        (0..plane_out)
            .map(|p| {
                let a = count(p / g.ow, g.sh, g.kh, g.dh, g.pt, g.pb, h);
                let b = count(p % g.ow, g.sw, g.kw, g.dw, g.pl, g.pr, w);
                T::of((a * b).max(1) as f64)
            })
            .collect()
    };
    // The first maximum of each window of `plane`: its index (usize::MAX for a window with
    // no cell inside the input) and value.
    let argmax = |plane: &[T], at: &mut [usize], best: &mut [T]| {
        at.fill(usize::MAX);
        best.fill(T::neg_infinity());
        for i in 0..g.kh {
            for j in 0..g.kw {
                taps(&g, i, j, 0, plane_out, |q, k| {
                    let v = plane[k];
                    if at[q] == usize::MAX || v > best[q] {
                        at[q] = k;
                        best[q] = v;
                    }
                });
            }
        }
    };
    match grad {
        None => {
            let mut y = vec![T::zero(); n * c * plane_out];
            y.par_chunks_mut(plane_out)
                .enumerate()
                .for_each(|(pi, out)| {
                    let plane = &xs[pi * plane_in..(pi + 1) * plane_in];
                    if max {
                        let mut at = vec![0; plane_out];
                        argmax(plane, &mut at, out);
                    } else {
                        for i in 0..g.kh {
                            for j in 0..g.kw {
                                taps(&g, i, j, 0, plane_out, |q, k| out[q] += plane[k]);
                            }
                        }
                        for (o, &d) in out.iter_mut().zip(&divisors) {
                            *o /= d;
                        }
                    }
                });
            ArrayD::from_shape_vec(IxDyn(&[n, c, g.oh, g.ow]), y).map_err(|e| e.to_string())
        }
        Some(gy) => {
            let gys = row_major(gy);
            let mut dx = vec![T::zero(); n * c * plane_in];
            dx.par_chunks_mut(plane_in)
                .enumerate()
                .for_each(|(pi, dplane)| {
                    let plane = &xs[pi * plane_in..(pi + 1) * plane_in];
                    let gplane = &gys[pi * plane_out..(pi + 1) * plane_out];
                    if max {
                        let (mut at, mut best) = (vec![0; plane_out], vec![T::zero(); plane_out]);
                        argmax(plane, &mut at, &mut best);
                        for (&k, &gv) in at.iter().zip(gplane) {
                            if k != usize::MAX {
                                dplane[k] += gv;
                            }
                        }
                    } else {
                        let share: Vec<T> = gplane
                            .iter()
                            .zip(&divisors)
                            .map(|(&gv, &d)| gv / d)
                            .collect();
                        for i in 0..g.kh {
                            for j in 0..g.kw {
                                taps(&g, i, j, 0, plane_out, |q, k| dplane[k] += share[q]);
                            }
                        }
                    }
                });
            ArrayD::from_shape_vec(IxDyn(&[n, c, h, w]), dx).map_err(|e| e.to_string())
        }
    }
}
