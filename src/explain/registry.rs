//! The method registry's types: a method declares itself once, in its own file, as a
//! [`MethodSpec`] — name, what it explains, whether it applies (and why not), its parameters
//! with defaults and ranges, its cost, how to build it — and is listed in
//! [`super::methods::METHODS`]. A [`Method`] is a handle on one entry; the command line's
//! `--method` values, help and parameter flags, the window's method lists and parameter forms,
//! the `params` of the attributions files and the progress totals are derived from the entries.

use std::collections::BTreeMap;
use std::fmt;

use super::{Background, ExplainError, Explainer, Link, Setting};
use crate::data::{Dataset, ImageShape};
use crate::model::OnnxModel;

/// What a method explains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Rows of features: one attribution per feature.
    Tabular,
    /// Images: one value per pixel.
    Image,
    /// Either (`auto`, which picks a concrete method for the data).
    Any,
    /// Both, with one implementation for each (Integrated Gradients).
    Both,
}

/// A numeric parameter of a method, with its default and the range it accepts.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// The key in outputs and settings, and the command-line flag (`--window`).
    pub name: &'static str,
    /// The label in the window.
    pub label: &'static str,
    /// One line of help, shared by the flag and the window's tooltip.
    pub help: &'static str,
    pub default: f64,
    pub min: f64,
    pub max: f64,
    /// Whole numbers only (written as integers in outputs).
    pub integer: bool,
    /// For a choice among named options: their names, for the values 0, 1, … (the window
    /// shows a menu; outputs keep the number). Empty for a quantity.
    pub choices: &'static [&'static str],
}

/// Values of method parameters by name; a missing one takes its [`Param::default`].
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ParamValues(BTreeMap<String, f64>);

impl ParamValues {
    /// Sets `name` to `value`.
    pub fn set(&mut self, name: &str, value: f64) {
        self.0.insert(name.to_string(), value);
    }

    /// The value of `param` (its default when unset or not finite; rounded for integer
    /// parameters). [`ParamValues::check`] says whether it is in range.
    pub fn get(&self, param: &Param) -> f64 {
        let v = self.0.get(param.name).copied().unwrap_or(param.default);
        let v = if v.is_finite() { v } else { param.default };
        if param.integer { v.round() } else { v }
    }

    /// Refuses a value of `method`'s parameters outside its range.
    pub fn check(&self, method: Method) -> Result<(), ExplainError> {
        for p in method.params() {
            let v = self.get(p);
            if v < p.min || v > p.max {
                return Err(ExplainError::setting(
                    Setting::Param(p.name),
                    number(v),
                    format!(
                        "is outside {}..={} for {}",
                        number(p.min),
                        number(p.max),
                        method.name()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The value of `param` as a count.
    pub fn count(&self, param: &Param) -> usize {
        self.get(param) as usize
    }

    /// These values with the parameters left unset taken from `method`'s defaults for
    /// images of `height × width` (defaults that scale with the image).
    pub fn for_image(&self, method: Method, height: usize, width: usize) -> ParamValues {
        let mut out = self.clone();
        method.spec().image_defaults(&mut out, height, width);
        out
    }

    /// The raw value set for `name`, if any (before clamping).
    pub fn raw(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }

    /// The parameters of `method` with their values, as written in outputs (integers as
    /// integers).
    pub fn json(&self, method: Method) -> serde_json::Map<String, serde_json::Value> {
        method
            .params()
            .iter()
            .map(|p| {
                let v = self.get(p);
                let value = if p.integer {
                    serde_json::Value::from(v as u64)
                } else {
                    serde_json::Value::from(v)
                };
                (p.name.to_string(), value)
            })
            .collect()
    }
}

/// A parameter value as typed: `4`, `0.5`.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// What a method is checked against: the model it would explain, in which space, on what
/// data.
#[derive(Clone, Copy)]
pub struct Fit<'a> {
    pub model: &'a OnnxModel,
    pub link: Link,
    /// The data are images.
    pub images: bool,
    /// Players of the coalition game: the model's features, or fewer when columns are grouped.
    pub players: usize,
    /// Some columns play as a group.
    pub grouped: bool,
}

impl<'a> Fit<'a> {
    /// `model` explained through `link`, on images or rows.
    pub fn new(model: &'a OnnxModel, link: Link, images: bool) -> Self {
        Fit {
            model,
            link,
            images,
            players: model.n_features(),
            grouped: false,
        }
    }
}

/// What a tabular explainer is built from.
pub struct TabularBuild<'a> {
    pub model: &'a OnnxModel,
    pub data: &'a Dataset,
    pub background: &'a Background,
    pub link: Link,
    /// Coalition evaluations per row of a sampled method.
    pub budget: usize,
    pub tolerance: Option<f64>,
    pub tree_mode: super::TreeMode,
    /// The method's own parameters.
    pub params: &'a ParamValues,
}

/// One image to explain for one class.
#[derive(Clone, Copy)]
pub struct ImageInput<'a> {
    /// The image in the model's input space.
    pub x: &'a [f32],
    pub shape: &'a ImageShape,
    pub target: usize,
    /// What replaces hidden pixels.
    pub baseline: super::image::Baseline,
    pub seed: u64,
}

/// A method that makes saliency maps. Each image method's parameters are fields of its own
/// struct, built by its [`MethodSpec::image`] from [`ParamValues`].
pub trait ImageExplainer: Send + Sync {
    /// The map of `input` under `model`.
    fn explain(
        &self,
        model: &OnnxModel,
        input: &ImageInput,
        progress: &dyn super::Progress,
    ) -> Result<super::image::SaliencyMap, ExplainError>;
}

/// One method's declaration: its name, what it explains, whether it applies, its parameters,
/// its cost and how to build it.
pub trait MethodSpec: Sync {
    /// The name on the command line and in outputs (`kernel`).
    fn name(&self) -> &'static str;
    /// One line for help texts and tooltips.
    fn summary(&self) -> &'static str;
    fn kind(&self) -> Kind;
    /// True for methods that sample (and so have a budget and standard errors).
    fn sampled(&self) -> bool {
        false
    }
    /// The method's own parameters.
    fn params(&self) -> &'static [Param] {
        &[]
    }
    /// Why the method cannot explain `fit`, if it cannot (in the engine's words).
    fn applies(&self, fit: &Fit) -> Result<(), String> {
        match (self.kind(), fit.images) {
            (Kind::Tabular, true) => Err("explains rows of features; these data are images".into()),
            (Kind::Image, false) => Err("explains images; these data are tabular".into()),
            _ => Ok(()),
        }
    }
    /// The concrete method used for `fit` (itself, except for `auto`).
    fn resolve(&self, _fit: &Fit) -> Option<Method> {
        None
    }
    /// Model rows (or images) one explained row costs, for progress; 0 when it calls no
    /// model. `budget` is a sampled method's coalition budget, `background` the background's
    /// rows (1 for images).
    fn cost(&self, fit: &Fit, params: &ParamValues, budget: usize, background: usize) -> u64;
    /// The tabular explainer.
    fn tabular(&self, _build: &TabularBuild) -> Result<Box<dyn Explainer>, ExplainError> {
        Err(not_for(self.name(), "rows of features"))
    }
    /// Sets the parameters `params` leaves unset to their defaults for images of
    /// `height × width`, for a method whose defaults scale with the image; the others keep
    /// their [`Param::default`].
    fn image_defaults(&self, _params: &mut ParamValues, _height: usize, _width: usize) {}
    /// The image explainer with `params` for images of `shape`.
    fn image(
        &self,
        _params: &ParamValues,
        _shape: &ImageShape,
    ) -> Result<Box<dyn ImageExplainer>, ExplainError> {
        Err(not_for(self.name(), "images"))
    }
}

/// `method` asked to explain what it does not.
fn not_for(method: &str, what: &str) -> ExplainError {
    ExplainError::setting(Setting::Method, method, format!("does not explain {what}"))
}

/// A method of the registry. Compared, hashed and written by name.
#[derive(Clone, Copy)]
pub struct Method(&'static dyn MethodSpec);

impl Method {
    /// The handle on `spec` (for the `pub const` each method file declares).
    pub const fn new(spec: &'static dyn MethodSpec) -> Method {
        Method(spec)
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
    pub fn summary(self) -> &'static str {
        self.0.summary()
    }
    pub fn kind(self) -> Kind {
        self.0.kind()
    }
    pub fn is_sampled(self) -> bool {
        self.0.sampled()
    }
    pub fn params(self) -> &'static [Param] {
        self.0.params()
    }
    /// The entry behind the handle.
    pub fn spec(self) -> &'static dyn MethodSpec {
        self.0
    }

    /// The concrete method for `fit` (never `auto`).
    pub fn resolve(self, fit: &Fit) -> Method {
        self.0.resolve(fit).unwrap_or(self)
    }

    /// The concrete method for rows of `model` explained through `link`.
    pub fn resolve_for(self, model: &OnnxModel, link: Link) -> Method {
        self.resolve(&Fit::new(model, link, false))
    }

    /// Ok when this method (resolved) can explain `fit`; else why not, as a setting error.
    pub fn check(self, fit: &Fit) -> Result<Method, ExplainError> {
        let method = self.resolve(fit);
        method
            .0
            .applies(fit)
            .map_err(|why| ExplainError::setting(Setting::Method, method.name(), why))?;
        Ok(method)
    }

    /// Why this method cannot explain `fit`, if it cannot: the method (resolved) and what it
    /// needs, in the engine's words (`tree needs a tree ensemble; …`).
    pub fn unavailable(self, fit: &Fit) -> Option<String> {
        let method = self.resolve(fit);
        method
            .0
            .applies(fit)
            .err()
            .map(|why| format!("{} {why}", method.name()))
    }

    /// The default coalition budget of a sampled method for `n_features`: 2·M + 2048.
    pub fn default_budget(n_features: usize) -> usize {
        2 * n_features + 2048
    }
}

impl PartialEq for Method {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}
impl Eq for Method {}

impl std::hash::Hash for Method {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state)
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Method {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_default_and_round() {
        let p = Param {
            name: "window",
            label: "Window",
            help: "",
            default: 4.0,
            min: 1.0,
            max: 64.0,
            integer: true,
            choices: &[],
        };
        let mut v = ParamValues::default();
        assert_eq!(v.get(&p), 4.0);
        v.set("window", f64::NAN);
        assert_eq!(v.get(&p), 4.0);
        v.set("window", 2.6);
        assert_eq!(v.count(&p), 3);
    }
}
