//! From aggregated leaf values to the score output: base values added (the margins), then the
//! post-transform ONNX names (none, logistic, softmax, softmax-zero, probit), with the binary
//! layout's second class derived from the first.

use super::{PostTransform, Real, TreeEnsemble};

impl TreeEnsemble {
    /// Adds the base values to raw scores: the margins the post-transform is applied to. For the
    /// binary layout only the weights' slot is meaningful (the second class's margin).
    pub fn margins(&self, raw: &mut [f64]) {
        self.add_base(raw);
    }

    pub(super) fn add_base<T: Real>(&self, raw: &mut [T]) {
        let b = |i: usize| T::from_f64(self.base_values[i]);
        match self.base_values.len() {
            0 => {}
            1 => raw.iter_mut().for_each(|v| *v += b(0)),
            _ if self.binary => raw[self.binary_slot()] += b(0),
            _ => raw.iter_mut().enumerate().for_each(|(i, v)| *v += b(i)),
        }
    }

    /// The slot the binary layout's weights go to.
    pub fn binary_slot(&self) -> usize {
        self.leaf_weights.first().map_or(0, |&(t, _)| t as usize)
    }

    /// Turns margins into the score output's columns (f32, as ONNX outputs them).
    pub fn finish(&self, margins: &[f64], out: &mut [f32]) {
        let mut scores: Vec<f64> = if self.binary {
            let m = margins[self.binary_slot()];
            let other = match self.post_transform {
                PostTransform::None | PostTransform::Probit => 1.0 - m,
                _ => -m,
            };
            vec![other, m]
        } else {
            margins.to_vec()
        };
        match self.post_transform {
            PostTransform::None => {}
            PostTransform::Logistic => scores.iter_mut().for_each(|v| *v = logistic(*v)),
            PostTransform::Softmax => softmax(&mut scores),
            PostTransform::SoftmaxZero => softmax_zero(&mut scores),
            PostTransform::Probit => scores.iter_mut().for_each(|v| *v = probit(*v)),
        }
        for (o, s) in out.iter_mut().zip(&scores) {
            *o = *s as f32;
        }
    }
}

fn logistic(v: f64) -> f64 {
    let e = (-v.abs()).exp();
    let p = 1.0 / (1.0 + e);
    if v < 0.0 { 1.0 - p } else { p }
}

fn softmax(v: &mut [f64]) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    v.iter_mut().for_each(|x| *x = (*x - max).exp());
    let sum: f64 = v.iter().sum();
    v.iter_mut().for_each(|x| *x /= sum);
}

/// Softmax that leaves exact zeros (scores no tree voted for) near zero, as ONNX defines it.
fn softmax_zero(v: &mut [f64]) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp_neg_max = (-max).exp();
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = if x.abs() > 1e-7 {
            (*x - max).exp()
        } else {
            *x * exp_neg_max
        };
        sum += *x;
    }
    if sum == 0.0 {
        v.iter_mut().for_each(|x| *x = 0.5);
    } else {
        v.iter_mut().for_each(|x| *x /= sum);
    }
}

/// ONNX's PROBIT: √2 · erfinv(2v − 1), with the same closed-form erfinv approximation the
/// reference implementation and onnxruntime use.
fn probit(v: f64) -> f64 {
    let x = 2.0 * v - 1.0;
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let t = (1.0 - x) * (1.0 + x);
    if t == 0.0 {
        return 0.0;
    }
    let log = t.ln();
    let a = 2.0 / (std::f64::consts::PI * 0.147) + 0.5 * log;
    let b = log / 0.147;
    std::f64::consts::SQRT_2 * sign * (-a + (a * a - b).sqrt()).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_transforms_match_their_definitions() {
        assert!((logistic(0.0) - 0.5).abs() < 1e-15);
        assert!((logistic(-800.0)).abs() < 1e-300);
        let mut v = [1.0, 2.0, 3.0];
        softmax(&mut v);
        assert!((v.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!((v[2] - 0.665_240_955_774_821_6).abs() < 1e-12);
        // The approximation is within 2e-3 of the true inverse normal CDF.
        assert!((probit(0.975) - 1.959_964).abs() < 2e-3);
        assert_eq!(probit(0.5), 0.0);
    }
}
