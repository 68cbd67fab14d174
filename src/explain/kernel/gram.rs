//! An incremental weighted least-squares fit by block Gram–Schmidt, for the chosen-terms
//! surrogate (`terms`): columns come in blocks, each made orthogonal to those already in by
//! matrix products, with the residuals, leave-one-out errors and coefficients kept up to date.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};

/// A column whose part orthogonal to those already chosen is below this share of its norm is
/// (numerically) spanned by them and is skipped.
pub(super) const COLLINEAR: f64 = 1e-8;

/// An incremental weighted least-squares fit by block Gram–Schmidt: orthonormal columns `q`,
/// the triangular factor `r` (column by column), the residual of every target and the
/// leverages so far. A block of new columns is made orthogonal to those already in by two
/// passes of matrix products (classical Gram–Schmidt, reorthogonalised), then to each other.
pub(super) struct Gram {
    /// `n × capacity`, the first `cols` columns in use.
    q: Mat<f64>,
    cols: usize,
    r: Vec<Vec<f64>>,
    /// Qᵀy per target, one entry per column.
    qty: Vec<Vec<f64>>,
    pub(super) residual: Vec<Vec<f64>>,
    pub(super) leverage: Vec<f64>,
}

impl Gram {
    pub(super) fn new(yw: Vec<Vec<f64>>, n: usize, capacity: usize) -> Self {
        Gram {
            q: Mat::zeros(n, capacity),
            cols: 0,
            r: Vec::new(),
            qty: vec![Vec::new(); yw.len()],
            residual: yw,
            leverage: vec![0.0; n],
        }
    }

    /// Adds the (weighted) column `u`; false when it is spanned by the columns already in.
    pub(super) fn push(&mut self, u: Vec<f64>) -> bool {
        self.push_block(&[u])[0]
    }

    /// Adds the (weighted) columns `block` in order; false for each one spanned by the columns
    /// already in (it is left out).
    pub(super) fn push_block(&mut self, block: &[Vec<f64>]) -> Vec<bool> {
        let (n, p, b) = (self.q.nrows(), self.cols, block.len());
        if p + b > self.q.ncols() {
            let mut wider = Mat::zeros(n, (2 * self.q.ncols()).max(p + b));
            wider
                .as_mut()
                .subcols_mut(0, p)
                .copy_from(self.q.as_ref().subcols(0, p));
            self.q = wider;
        }
        let mut u = Mat::from_fn(n, b, |i, j| block[j][i]);
        let mut coef = Mat::<f64>::zeros(p, b);
        if p > 0 {
            let q = self.q.as_ref().subcols(0, p);
            for _ in 0..2 {
                let mut c = Mat::<f64>::zeros(p, b);
                matmul(
                    c.as_mut(),
                    Accum::Replace,
                    q.transpose(),
                    u.as_ref(),
                    1.0,
                    Par::Seq,
                );
                matmul(u.as_mut(), Accum::Add, q, c.as_ref(), -1.0, Par::Seq);
                coef += &c;
            }
        }
        let mut added = Vec::with_capacity(b);
        // The block's columns that went in: their index among the columns of `q`.
        let mut inside: Vec<usize> = Vec::new();
        for j in 0..b {
            let norm0 = dot(&block[j], &block[j]);
            let mut r: Vec<f64> = (0..p).map(|i| coef[(i, j)]).collect();
            let col = u.col_as_slice_mut(j);
            for &c in &inside {
                let qc = self.q.col_as_slice(c);
                let x = dot(qc, col);
                col.iter_mut().zip(qc).for_each(|(u, q)| *u -= x * q);
                r.push(x);
            }
            let norm = dot(col, col);
            if norm.is_nan() || norm <= COLLINEAR * norm0 {
                added.push(false);
                continue;
            }
            let norm = norm.sqrt();
            col.iter_mut().for_each(|u| *u /= norm);
            r.push(norm);
            // Columns skipped inside the block leave no gap: r runs over the columns in.
            let c = self.cols;
            self.q.col_as_slice_mut(c).copy_from_slice(col);
            let qc = self.q.col_as_slice(c);
            for (res, qty) in self.residual.iter_mut().zip(&mut self.qty) {
                let x = dot(qc, res);
                res.iter_mut().zip(qc).for_each(|(e, q)| *e -= x * q);
                qty.push(x);
            }
            self.leverage
                .iter_mut()
                .zip(qc)
                .for_each(|(h, q)| *h += q * q);
            self.r.push(r);
            inside.push(c);
            self.cols += 1;
            added.push(true);
        }
        added
    }

    /// The weighted leave-one-out error of the fit so far, Σ (e/(1 − h))².
    pub(super) fn press(&self) -> f64 {
        self.residual
            .iter()
            .map(|res| {
                res.iter()
                    .zip(&self.leverage)
                    .map(|(e, h)| (e / (1.0 - h.min(1.0 - 1e-12))).powi(2))
                    .sum::<f64>()
            })
            .sum()
    }

    /// The coefficients of the first `k` columns for every target: R⁻¹ Qᵀy.
    pub(super) fn coefficients(&self, k: usize) -> Vec<Vec<f64>> {
        self.qty
            .iter()
            .map(|qty| {
                let mut a = qty[..k].to_vec();
                for i in (0..k).rev() {
                    a[i] /= self.r[i][i];
                    let ai = a[i];
                    for (l, x) in a[..i].iter_mut().enumerate() {
                        *x -= self.r[i][l] * ai;
                    }
                }
                a
            })
            .collect()
    }
}

/// Σ a_i b_i with four running sums (the compiler keeps a single sum in order).
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for q in 0..4 {
            acc[q] += x[q] * y[q];
        }
    }
    acc.iter().sum::<f64>() + tail
}
