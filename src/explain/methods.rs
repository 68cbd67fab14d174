//! The list of methods — one line per method — and what is looked up in it: a method by name,
//! the methods of a kind, the `--method` help, every method parameter.

use super::registry::{Kind, Method, Param};

/// Every method, in the order they are offered. One line per method.
pub static METHODS: &[Method] = &[
    super::auto::AUTO,
    super::exact::EXACT,
    super::kernel::KERNEL,
    super::permutation::PERMUTATION,
    super::tree_method::TREE,
    super::image::occlusion::OCCLUSION,
    super::image::rise::RISE,
    super::image::superpixel::SUPERPIXEL,
    super::image::scorecam::SCORECAM,
    super::image::gradient::SALIENCY,
    super::image::gradient::GRADXINPUT,
    super::image::ig::IG,
    super::image::gradient::SMOOTHGRAD,
    super::image::gradcam::GRADCAM,
    #[cfg(test)]
    super::dummy::DUMMY,
];

impl Method {
    /// The method called `name` (case-insensitive).
    pub fn named(name: &str) -> Option<Method> {
        METHODS
            .iter()
            .copied()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// Every method of `kind` (with `auto` and the methods of both kinds).
    pub fn all_for(kind: Kind) -> impl Iterator<Item = Method> {
        METHODS
            .iter()
            .copied()
            .filter(move |m| m.kind() == kind || matches!(m.kind(), Kind::Any | Kind::Both))
    }
}

impl Default for Method {
    fn default() -> Self {
        super::auto::AUTO
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Method::named(s).ok_or_else(|| {
            let names: Vec<&str> = METHODS.iter().map(|m| m.name()).collect();
            format!("unknown method `{s}` (one of: {})", names.join(", "))
        })
    }
}

impl<'de> serde::Deserialize<'de> for Method {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The `--method` help: every method with its one-line summary.
pub fn method_help() -> String {
    let mut s = String::from("The explanation method:");
    for m in METHODS {
        s.push_str(&format!("\n  {:<12} {}", m.name(), m.summary()));
    }
    s
}

/// Every parameter of every method, once per name, with the methods that take it.
pub fn all_params() -> Vec<(Param, Vec<&'static str>)> {
    let mut out: Vec<(Param, Vec<&'static str>)> = Vec::new();
    for m in METHODS {
        for p in m.params() {
            match out.iter_mut().find(|(q, _)| q.name == p.name) {
                Some((_, users)) => users.push(m.name()),
                None => out.push((*p, vec![m.name()])),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        for (i, m) in METHODS.iter().enumerate() {
            assert_eq!(m.name().parse::<Method>().unwrap(), *m);
            assert!(
                METHODS[..i].iter().all(|o| o.name() != m.name()),
                "{} twice",
                m.name()
            );
        }
        assert_eq!(Method::default().name(), "auto");
    }
}
