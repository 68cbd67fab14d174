//! `auto`: the method Loupe picks for the data — TreeSHAP for a tree ensemble explained in its
//! margin, else exact enumeration up to [`AUTO_EXACT_MAX_FEATURES`] features, else KernelSHAP;
//! occlusion for images.

use super::AUTO_EXACT_MAX_FEATURES;
use super::registry::{Fit, Kind, Method, MethodSpec, ParamValues};

/// The registry's handle on `auto`.
pub const AUTO: Method = Method::new(&Spec);

struct Spec;

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "auto"
    }
    fn summary(&self) -> &'static str {
        "tree for a tree ensemble in its margin space, else exact up to 12 features, else \
         kernel; occlusion for images"
    }
    fn kind(&self) -> Kind {
        Kind::Any
    }
    fn resolve(&self, fit: &Fit) -> Option<Method> {
        if fit.images {
            return Some(super::image::occlusion::OCCLUSION);
        }
        let trees_exact = fit
            .model
            .trees()
            .is_some_and(|t| t.margin_link() == Some(fit.link))
            && !fit.grouped;
        Some(if trees_exact {
            super::tree_method::TREE
        } else if fit.players <= AUTO_EXACT_MAX_FEATURES {
            super::exact::EXACT
        } else {
            super::kernel::KERNEL
        })
    }
    fn cost(&self, fit: &Fit, params: &ParamValues, budget: usize, background: usize) -> u64 {
        let method = AUTO.resolve(fit);
        method.spec().cost(fit, params, budget, background)
    }
}
