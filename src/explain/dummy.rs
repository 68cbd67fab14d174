//! A method that exists only in tests: it proves that a method is one file plus one line in
//! the registry, and that the command line, the window and the outputs all see it. It gives
//! the whole difference f(x) − E[f(X)] to the first feature.

use rand_chacha::ChaCha8Rng;

use super::registry::{Fit, Kind, Method, MethodSpec, ParamValues, TabularBuild};
use super::{Attribution, ExplainError, Explainer, Game};

/// The registry's handle on the test method.
pub const DUMMY: Method = Method::new(&Spec);

struct Spec;

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "dummy"
    }
    fn summary(&self) -> &'static str {
        "a test method: everything to the first feature"
    }
    fn kind(&self) -> Kind {
        Kind::Tabular
    }
    fn cost(&self, _fit: &Fit, _params: &ParamValues, _budget: usize, background: usize) -> u64 {
        2 * background as u64
    }
    fn tabular(&self, _build: &TabularBuild) -> Result<Box<dyn Explainer>, ExplainError> {
        Ok(Box::new(FirstFeature))
    }
}

struct FirstFeature;

impl Explainer for FirstFeature {
    fn explain(
        &self,
        game: &Game,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Attribution>, ExplainError> {
        let (base, output) = game.endpoints()?;
        let m = game.n_features();
        Ok(base
            .iter()
            .zip(&output)
            .map(|(&b, &o)| {
                let mut values = vec![0.0; m];
                if let Some(first) = values.first_mut() {
                    *first = o - b;
                }
                Attribution {
                    base_value: b,
                    output_value: o,
                    values,
                    std_err: None,
                }
            })
            .collect())
    }
}
