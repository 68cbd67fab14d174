//! Reading one cell as users' files write it: numbers, booleans (`True`/`False`, `yes`/`no`,
//! as `pd.get_dummies(...).to_csv()` writes dummy columns), missing values (a blank cell,
//! `NaN`), and the words binary labels come as (`no`/`yes`, `False`/`True`,
//! `negative`/`positive`).

/// The categories a text column takes, each with the number it is fed to the model as.
#[derive(Clone, Debug, PartialEq)]
pub struct Categories(pub Vec<(String, f32)>);

impl Categories {
    /// The code of the category `cell` names (exactly, then ignoring case).
    pub fn code(&self, cell: &str) -> Option<f32> {
        let found = self.0.iter().find(|(name, _)| name == cell).or_else(|| {
            self.0
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(cell))
        });
        found.map(|(_, code)| *code)
    }

    /// The category fed as `code`.
    pub fn name(&self, code: f32) -> Option<&str> {
        self.0
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(name, _)| name.as_str())
    }

    /// A cell of this column: its category's code, or why it has none.
    pub(super) fn parse(&self, cell: &str) -> Result<f32, String> {
        if is_missing(cell) {
            return Err("missing value (a category is needed)".into());
        }
        self.code(cell).ok_or_else(|| {
            let names: Vec<&str> = self.0.iter().take(8).map(|(n, _)| n.as_str()).collect();
            let more = if self.0.len() > 8 { ", …" } else { "" };
            format!(
                "`{}` is not one of the categories the model knows ({}{more})",
                shorten(cell),
                names.join(", ")
            )
        })
    }
}

/// Words a binary label may be written as, in class order: the first is class 0.
const BINARY_WORDS: [(&str, &str); 3] =
    [("no", "yes"), ("false", "true"), ("negative", "positive")];

/// A boolean cell as 1 or 0.
fn boolean(cell: &str) -> Option<f32> {
    match cell.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(1.0),
        "false" | "no" => Some(0.0),
        _ => None,
    }
}

/// A missing value: a blank cell or `NaN` (any case).
pub(super) fn is_missing(cell: &str) -> bool {
    cell.is_empty() || cell.eq_ignore_ascii_case("nan")
}

/// True when the cell holds a number or a boolean: the column can be a feature.
pub(super) fn is_numeric(cell: &str) -> bool {
    cell.parse::<f64>().is_ok() || boolean(cell).is_some()
}

/// A feature cell: a finite number, a boolean (1/0), or — when the model handles them
/// (`missing_allowed`) — a missing value as NaN.
pub(super) fn parse_feature(cell: &str, missing_allowed: bool) -> Result<f32, String> {
    if missing_allowed && is_missing(cell) {
        return Ok(f32::NAN);
    }
    match boolean(cell) {
        Some(v) => Ok(v),
        None => parse_number(cell),
    }
}

/// A finite number that fits in f32; anything else is a reason.
pub(super) fn parse_number(cell: &str) -> Result<f32, String> {
    if cell.is_empty() {
        return Err("missing value".into());
    }
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() <= f32::MAX as f64 => Ok(v as f32),
        Ok(_) => Err(format!("`{cell}` is not a finite number")),
        Err(_) => Err(format!("`{}` is not a number", shorten(cell))),
    }
}

/// A label names a class (exactly, then ignoring case), or is its index.
pub(super) fn class_index(label: &str, class_names: &[String]) -> Option<usize> {
    class_names
        .iter()
        .position(|c| c == label)
        .or_else(|| {
            class_names
                .iter()
                .position(|c| c.eq_ignore_ascii_case(label))
        })
        .or_else(|| {
            let ix = label
                .parse::<f64>()
                .ok()
                .filter(|v| v.fract() == 0.0 && *v >= 0.0)?;
            Some(ix as usize).filter(|&i| i < class_names.len())
        })
}

/// The pair of binary words (`no`/`yes`, …) that every label in `labels` not naming a class is
/// written in, for a two-class model whose classes are not themselves named by such words
/// (class names found in the model win). `None` when the labels need no such reading.
pub(super) fn binary_words<'a>(
    labels: impl Iterator<Item = &'a str>,
    class_names: &[String],
) -> Option<(&'static str, &'static str)> {
    let word = |w: &str| BINARY_WORDS.iter().any(|(a, b)| w == *a || w == *b);
    if class_names.len() != 2 || class_names.iter().any(|c| word(&c.to_ascii_lowercase())) {
        return None;
    }
    let unmatched: Vec<String> = labels
        .filter(|l| !l.is_empty() && class_index(l, class_names).is_none())
        .map(str::to_ascii_lowercase)
        .collect();
    if unmatched.is_empty() {
        return None;
    }
    BINARY_WORDS
        .into_iter()
        .find(|(a, b)| unmatched.iter().all(|l| l == a || l == b))
}

/// The class a binary word names under `pair` (0 for the first word, 1 for the second).
pub(super) fn binary_class(label: &str, pair: (&str, &str)) -> Option<usize> {
    let label = label.to_ascii_lowercase();
    if label == pair.0 {
        Some(0)
    } else if label == pair.1 {
        Some(1)
    } else {
        None
    }
}

/// At most 40 characters of `text`, for messages.
pub(super) fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

/// The most distinct values a numeric column read as categories may hold.
pub const MAX_FORCED_CATEGORIES: usize = 1000;

impl super::Dataset {
    /// Reads the numeric columns `names` as categories: their distinct values, in increasing
    /// order, each named as the number it is (`ward = 3`) and fed to the model as itself. A
    /// column that already holds categories is left as it is; one with more than
    /// [`MAX_FORCED_CATEGORIES`] distinct values, or a name that is not a column, is refused.
    pub fn read_as_categories(&mut self, names: &[String]) -> Result<(), String> {
        for name in names {
            let Some(j) = self.feature_names.iter().position(|n| n == name) else {
                return Err(format!(
                    "the card's `categorical` names `{name}`, which is not one of the features \
                     ({})",
                    super::name_list(&self.feature_names)
                ));
            };
            if self.categories.get(j).is_some_and(Option::is_some) {
                continue;
            }
            let mut values: Vec<f32> = self
                .x
                .column(j)
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            values.sort_by(f32::total_cmp);
            values.dedup();
            if values.len() > MAX_FORCED_CATEGORIES {
                return Err(format!(
                    "the card reads `{name}` as categories, but it holds {} distinct values \
                     (at most {MAX_FORCED_CATEGORIES})",
                    values.len()
                ));
            }
            if self.categories.len() < self.feature_names.len() {
                self.categories.resize(self.feature_names.len(), None);
            }
            self.categories[j] = Some(Categories(
                values.into_iter().map(|v| (v.to_string(), v)).collect(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_are_one_and_zero_and_missing_only_when_allowed() {
        assert_eq!(parse_feature("True", false), Ok(1.0));
        assert_eq!(parse_feature("no", false), Ok(0.0));
        assert_eq!(parse_feature("", false), Err("missing value".into()));
        assert!(parse_feature("NaN", true).unwrap().is_nan());
        assert!(parse_feature("", true).unwrap().is_nan());
        assert_eq!(
            parse_feature("NaN", false),
            Err("`NaN` is not a finite number".into())
        );
    }

    #[test]
    fn binary_words_map_to_classes_unless_the_model_names_them() {
        let numbers = vec!["0".to_string(), "1".to_string()];
        let labels = ["no", "Yes", "no"];
        let pair = binary_words(labels.into_iter(), &numbers).unwrap();
        assert_eq!(pair, ("no", "yes"));
        assert_eq!(binary_class("Yes", pair), Some(1));
        let named = vec!["yes".to_string(), "no".to_string()];
        assert_eq!(binary_words(labels.into_iter(), &named), None);
        assert_eq!(binary_words(["no", "maybe"].into_iter(), &numbers), None);
        assert_eq!(binary_words(["0", "1"].into_iter(), &numbers), None);
    }
}
