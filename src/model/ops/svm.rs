//! ONNX-ML `SVMClassifier` and `SVMRegressor`, computed as onnxruntime (and the ONNX reference
//! implementation) compute them: the kernel (linear, poly, rbf, sigmoid) against every support
//! vector; for a classifier the one-against-one decision values, turned into probabilities by
//! Platt's sigmoids (`prob_a`, `prob_b`) and libsvm's pairwise coupling. Rows in parallel.

use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::{as_f32, score_rules, scores_in_parallel};

pub(super) fn register(reg: &mut OnnxOpRegister) {
    reg.insert("SVMClassifier", svm_classifier);
    reg.insert("SVMRegressor", svm_regressor);
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kernel {
    Linear,
    Poly { gamma: f64, coef0: f64, degree: i32 },
    Rbf { gamma: f64 },
    Sigmoid { gamma: f64, coef0: f64 },
}

impl Kernel {
    fn of(node: &NodeProto) -> TractResult<Kernel> {
        let kind: String = node
            .get_attr_opt("kernel_type")?
            .unwrap_or_else(|| "LINEAR".to_string());
        let params: Vec<f32> = node.get_attr_opt_vec("kernel_params")?.unwrap_or_default();
        let p = |i: usize| params.get(i).copied().unwrap_or(0.0) as f64;
        Ok(match kind.to_ascii_uppercase().as_str() {
            "LINEAR" => Kernel::Linear,
            "POLY" => Kernel::Poly {
                gamma: p(0),
                coef0: p(1),
                degree: p(2) as i32,
            },
            "RBF" => Kernel::Rbf { gamma: p(0) },
            "SIGMOID" => Kernel::Sigmoid {
                gamma: p(0),
                coef0: p(1),
            },
            other => bail!("kernel_type {other} is none of LINEAR, POLY, RBF, SIGMOID"),
        })
    }

    fn eval(self, a: &[f32], b: &[f32]) -> f64 {
        let dot = || {
            a.iter()
                .zip(b)
                .map(|(x, y)| *x as f64 * *y as f64)
                .sum::<f64>()
        };
        match self {
            Kernel::Linear => dot(),
            Kernel::Poly {
                gamma,
                coef0,
                degree,
            } => (dot() * gamma + coef0).powi(degree),
            Kernel::Rbf { gamma } => {
                let d2: f64 = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
                    .sum();
                (-gamma * d2).exp()
            }
            Kernel::Sigmoid { gamma, coef0 } => (dot() * gamma + coef0).tanh(),
        }
    }
}

/// A support-vector machine as the node describes it.
#[derive(Clone, Debug, PartialEq)]
struct Svm {
    kernel: Kernel,
    /// Support vectors, one after another (`features` values each).
    vectors: Vec<f32>,
    features: usize,
    coefficients: Vec<f32>,
    rho: Vec<f32>,
    /// Classifier: support vectors per class, and Platt's sigmoid per pair of classes.
    per_class: Vec<usize>,
    prob_a: Vec<f32>,
    prob_b: Vec<f32>,
    /// Regressor: the sign of the value only (a one-class SVM).
    one_class: bool,
}

fn post_transform_none(node: &NodeProto) -> TractResult<()> {
    let post: String = node
        .get_attr_opt("post_transform")?
        .unwrap_or_else(|| "NONE".to_string());
    node.expect(post.eq_ignore_ascii_case("NONE"), "post_transform NONE")
}

fn svm_classifier(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    post_transform_none(node)?;
    let per_class: Vec<i64> = node
        .get_attr_opt_vec("vectors_per_class")?
        .unwrap_or_default();
    let per_class: Vec<usize> = per_class.iter().map(|&n| n.max(0) as usize).collect();
    let count: usize = per_class.iter().sum();
    let vectors: Vec<f32> = node
        .get_attr_opt_vec("support_vectors")?
        .unwrap_or_default();
    let prob_a: Vec<f32> = node.get_attr_opt_vec("prob_a")?.unwrap_or_default();
    let prob_b: Vec<f32> = node.get_attr_opt_vec("prob_b")?.unwrap_or_default();
    let k = per_class.len();
    let pairs = k * k.saturating_sub(1) / 2;
    if count == 0 || prob_a.is_empty() {
        bail!(
            "SVMClassifier without probabilities gives decision values, not class scores: fit \
             the SVC with probability=True"
        );
    }
    let svm = Svm {
        kernel: Kernel::of(node)?,
        features: vectors.len() / count,
        vectors,
        coefficients: node.get_attr_opt_vec("coefficients")?.unwrap_or_default(),
        rho: node.get_attr_opt_vec("rho")?.unwrap_or_default(),
        per_class,
        prob_a,
        prob_b,
        one_class: false,
    };
    node.expect(k >= 2, "two or more classes")?;
    node.expect(
        svm.vectors.len() == count * svm.features && svm.features > 0,
        "support vectors of equal length",
    )?;
    node.expect(
        svm.coefficients.len() == (k - 1) * count,
        "(classes − 1) × support vectors coefficients",
    )?;
    node.expect(
        svm.rho.len() == pairs && svm.prob_a.len() == pairs && svm.prob_b.len() == pairs,
        "one rho, prob_a and prob_b per pair of classes",
    )?;
    Ok((
        tract_onnx::tract_hir::ops::expandable::expand(SvmOp(Arc::new(svm))),
        vec![],
    ))
}

fn svm_regressor(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    post_transform_none(node)?;
    let count = node.get_attr_opt::<i64>("n_supports")?.unwrap_or(0).max(0) as usize;
    let vectors: Vec<f32> = node
        .get_attr_opt_vec("support_vectors")?
        .unwrap_or_default();
    let coefficients: Vec<f32> = node.get_attr_opt_vec("coefficients")?.unwrap_or_default();
    let (kernel, features) = match vectors.len().checked_div(count) {
        Some(features) => (Kernel::of(node)?, features),
        // A linear SVM: the coefficients are the weights.
        None => (Kernel::Linear, coefficients.len()),
    };
    let svm = Svm {
        kernel,
        vectors,
        features,
        rho: node.get_attr_opt_vec("rho")?.unwrap_or_default(),
        coefficients,
        per_class: Vec::new(),
        prob_a: Vec::new(),
        prob_b: Vec::new(),
        one_class: node.get_attr_opt::<i64>("one_class")?.unwrap_or(0) != 0,
    };
    node.expect(!svm.rho.is_empty() && features > 0, "rho and coefficients")?;
    node.expect(
        count == 0 || (svm.vectors.len() == count * features && svm.coefficients.len() == count),
        "one coefficient per support vector",
    )?;
    Ok((
        tract_onnx::tract_hir::ops::expandable::expand(SvmOp(Arc::new(svm))),
        vec![],
    ))
}

impl Svm {
    fn is_classifier(&self) -> bool {
        !self.per_class.is_empty()
    }

    fn columns(&self) -> usize {
        if self.is_classifier() {
            self.per_class.len()
        } else {
            1
        }
    }

    fn support_vector(&self, j: usize) -> &[f32] {
        &self.vectors[j * self.features..(j + 1) * self.features]
    }

    /// A regressor's value for row `x`.
    fn regress(&self, x: &[f32]) -> f32 {
        let mut s = if self.vectors.is_empty() {
            self.kernel.eval(x, &self.coefficients)
        } else {
            (0..self.coefficients.len())
                .map(|j| self.coefficients[j] as f64 * self.kernel.eval(x, self.support_vector(j)))
                .sum()
        };
        s += self.rho[0] as f64;
        if self.one_class {
            s = if s > 0.0 { 1.0 } else { -1.0 };
        }
        s as f32
    }

    /// A classifier's class probabilities for row `x`, written into `out`.
    fn classify(&self, x: &[f32], out: &mut [f32]) {
        let k = self.per_class.len();
        let count: usize = self.per_class.iter().sum();
        let kernels: Vec<f64> = (0..count)
            .map(|j| self.kernel.eval(x, self.support_vector(j)))
            .collect();
        let mut start = Vec::with_capacity(k);
        let mut at = 0;
        for &n in &self.per_class {
            start.push(at);
            at += n;
        }
        let coef = |row: usize, from: usize, n: usize| -> f64 {
            (from..from + n)
                .map(|j| self.coefficients[row * count + j] as f64 * kernels[j])
                .sum()
        };
        // Pairwise probabilities r[i][j] of class i over class j.
        let mut r = vec![0f64; k * k];
        let mut pair = 0;
        for i in 0..k {
            for j in i + 1..k {
                let decision = self.rho[pair] as f64
                    + coef(j - 1, start[i], self.per_class[i])
                    + coef(i, start[j], self.per_class[j]);
                let v = decision * self.prob_a[pair] as f64 + self.prob_b[pair] as f64;
                let p = (1.0 - 1.0 / (1.0 + (-v).exp())).clamp(1e-7, 1.0 - 1e-7);
                r[i * k + j] = p;
                r[j * k + i] = 1.0 - p;
                pair += 1;
            }
        }
        for (o, p) in out.iter_mut().zip(pairwise_coupling(k, &r)) {
            *o = p as f32;
        }
    }
}

/// libsvm's multi-class probabilities from pairwise ones (Wu, Lin & Weng 2004, method 2).
fn pairwise_coupling(k: usize, r: &[f64]) -> Vec<f64> {
    let mut q = vec![0f64; k * k];
    let mut p = vec![1.0 / k as f64; k];
    for t in 0..k {
        for j in 0..t {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = q[j * k + t];
        }
        for j in t + 1..k {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = -r[j * k + t] * r[t * k + j];
        }
    }
    let eps = 0.005 / k as f64;
    let mut qp = vec![0f64; k];
    for _ in 0..k.max(100) {
        for t in 0..k {
            qp[t] = (0..k).map(|j| q[t * k + j] * p[j]).sum();
        }
        let mut pqp: f64 = (0..k).map(|t| p[t] * qp[t]).sum();
        let max_error = qp.iter().map(|v| (v - pqp).abs()).fold(0.0, f64::max);
        if max_error < eps {
            break;
        }
        for t in 0..k {
            let diff = (-qp[t] + pqp) / q[t * k + t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t * k + t] + 2.0 * qp[t])) / (1.0 + diff).powi(2);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
    p
}

/// The inference-time face: a classifier has a label output (pruned by Loupe) then scores.
#[derive(Debug, Clone)]
struct SvmOp(Arc<Svm>);

impl Expansion for SvmOp {
    fn name(&self) -> StaticName {
        if self.0.is_classifier() {
            "SVMClassifier".into()
        } else {
            "SVMRegressor".into()
        }
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(if self.0.is_classifier() { 2 } else { 1 })
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        let scores = if self.0.is_classifier() {
            check_output_arity(outputs, 2)?;
            s.equals(&outputs[0].datum_type, DatumType::I64)?;
            s.equals(&outputs[0].rank, 1)?;
            s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
            &outputs[1]
        } else {
            check_output_arity(outputs, 1)?;
            &outputs[0]
        };
        score_rules(s, &inputs[0], scores, self.0.columns())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?.clone();
        ensure!(fact.rank() == 2, "SVMs take rows × features");
        if let Ok(width) = fact.shape[1].to_usize() {
            ensure!(
                width == self.0.features,
                "the SVM's vectors have {} features but rows have {width}",
                self.0.features
            );
        }
        let x = as_f32(model, prefix, inputs[0])?;
        let outputs = model.wire_node(prefix, SvmEval(self.0.clone()), &[x])?;
        Ok(if self.0.is_classifier() {
            outputs
        } else {
            tvec!(outputs[1])
        })
    }
}

/// The typed op: labels (argmax of the probabilities) and scores, rows split over the cores.
#[derive(Debug, Clone)]
struct SvmEval(Arc<Svm>);

impl PartialEq for SvmEval {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for SvmEval {}

impl Op for SvmEval {
    fn name(&self) -> StaticName {
        "LoupeSvm".into()
    }

    op_as_typed_op!();
}

/// Rows per parallel task.
const SVM_ROWS_PER_TASK: usize = 16;

impl EvalOp for SvmEval {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let width = input.shape().get(1).copied().unwrap_or(0);
        ensure!(width == self.0.features, "rows have {width} features");
        let k = self.0.columns();
        let (rows, scores) = scores_in_parallel(&input, k, SVM_ROWS_PER_TASK, |x, width, out| {
            for (o, row) in out.chunks_exact_mut(k).zip(x.chunks_exact(width)) {
                if self.0.is_classifier() {
                    self.0.classify(row, o);
                } else {
                    o[0] = self.0.regress(row);
                }
            }
        })?;
        let labels: Vec<i64> = scores
            .chunks_exact(k)
            .map(|s| (0..k).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap_or(0) as i64)
            .collect();
        Ok(tvec!(
            Tensor::from_shape(&[rows], &labels)?.into_tvalue(),
            Tensor::from_shape(&[rows, k], &scores)?.into_tvalue()
        ))
    }
}

impl TypedOp for SvmEval {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let n = inputs[0].shape[0].clone();
        Ok(tvec!(
            i64::fact(std::slice::from_ref(&n)),
            f32::fact(&[n, self.0.columns().to_dim()])
        ))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_coupling_of_consistent_pairs_gives_back_the_probabilities() {
        // r[i][j] = p_i / (p_i + p_j) for p = (0.5, 0.3, 0.2): the coupling recovers p.
        let p = [0.5, 0.3, 0.2];
        let mut r = vec![0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    r[i * 3 + j] = p[i] / (p[i] + p[j]);
                }
            }
        }
        let got = pairwise_coupling(3, &r);
        for (g, w) in got.iter().zip(p) {
            assert!((g - w).abs() < 2e-3, "{got:?}");
        }
    }

    #[test]
    fn kernels_follow_their_formulas() {
        let (a, b) = ([1.0f32, 2.0], [3.0f32, -1.0]);
        assert_eq!(Kernel::Linear.eval(&a, &b), 1.0);
        let poly = Kernel::Poly {
            gamma: 0.5,
            coef0: 1.0,
            degree: 3,
        };
        assert!((poly.eval(&a, &b) - 1.5f64.powi(3)).abs() < 1e-12);
        let rbf = Kernel::Rbf { gamma: 0.1 };
        assert!((rbf.eval(&a, &b) - (-0.1f64 * 13.0).exp()).abs() < 1e-12);
        let sig = Kernel::Sigmoid {
            gamma: 0.5,
            coef0: -1.0,
        };
        assert!((sig.eval(&a, &b) - (-0.5f64).tanh()).abs() < 1e-12);
    }
}
