//! The browser's filter on feature values, as typed: `worst radius > 20 and mean area <= 900`,
//! or a category: `island = Dream`.

use crate::data::Categories;

/// One comparison of a feature's value.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub feature: usize,
    op: &'static str,
    value: f32,
}

impl Condition {
    pub fn holds(&self, v: f32) -> bool {
        match self.op {
            ">" => v > self.value,
            ">=" => v >= self.value,
            "<" => v < self.value,
            "<=" => v <= self.value,
            "!=" => v != self.value,
            _ => v == self.value,
        }
    }
}

/// Parses `name op number [and name op number …]` against `names` (a text feature, with its
/// `categories`, compares by `=` or `!=` with a category); the error says which part is wrong.
pub fn parse_filter(
    text: &str,
    names: &[String],
    categories: &[Option<Categories>],
) -> Result<Vec<Condition>, String> {
    let mut out = Vec::new();
    for part in text.split(" and ").map(str::trim).filter(|p| !p.is_empty()) {
        let Some((at, op)) = ["<=", ">=", "!=", "==", "<", ">", "="]
            .iter()
            .find_map(|op| part.find(op).map(|i| (i, *op)))
        else {
            return Err(format!(
                "`{part}`: expected a comparison such as `worst radius > 20`"
            ));
        };
        let name = part[..at].trim();
        let number = part[at + op.len()..].trim();
        let feature = names
            .iter()
            .position(|n| n == name)
            .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(name)))
            .ok_or_else(|| format!("`{name}` is not a column of the data"))?;
        let value: f32 = match categories.get(feature).and_then(Option::as_ref) {
            Some(cats) => {
                if !matches!(op, "=" | "==" | "!=") {
                    return Err(format!(
                        "`{name}` is a category: compare it with = or != (`{name} = {}`)",
                        cats.0.first().map_or("…", |(n, _)| n.as_str())
                    ));
                }
                cats.code(number).ok_or_else(|| {
                    let known: Vec<&str> = cats.0.iter().take(8).map(|(n, _)| n.as_str()).collect();
                    format!(
                        "`{number}` is not a category of {name} ({})",
                        known.join(", ")
                    )
                })?
            }
            None => number
                .parse()
                .map_err(|_| format!("`{number}` is not a number"))?,
        };
        let op = match op {
            "=" | "==" => "==",
            other => other,
        };
        out.push(Condition { feature, op, value });
    }
    Ok(out)
}

/// A filter on these data's own columns, as the field's hint: `bill_length_mm > 39.1 and
/// island = Torgersen` (a numeric column against the first row's value, and a category).
pub fn example(data: &crate::data::Dataset) -> String {
    let Some(first) = data.x.rows().into_iter().next() else {
        return "column > value and column = category".into();
    };
    let is_category = |j: usize| data.categories.get(j).is_some_and(Option::is_some);
    let mut parts = Vec::new();
    if let Some(j) =
        (0..data.feature_names.len()).find(|&j| !is_category(j) && first[j].is_finite())
    {
        parts.push(format!(
            "{} > {}",
            data.feature_names[j],
            crate::plot::short_number(first[j] as f64)
        ));
    }
    if let Some(j) = (0..data.feature_names.len()).find(|&j| is_category(j)) {
        parts.push(format!(
            "{} = {}",
            data.feature_names[j],
            data.value_text(j, first[j], |v| v.to_string())
        ));
    }
    if parts.is_empty() {
        return "column > value".into();
    }
    parts.join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_parses_names_comparisons_and_numbers_and_says_what_is_wrong() {
        let names: Vec<String> = ["worst radius", "mean area"].map(String::from).to_vec();
        let f = parse_filter("worst radius > 20 and Mean Area <= 900", &names, &[]).unwrap();
        assert_eq!(f.len(), 2);
        assert!(f[0].holds(20.5) && !f[0].holds(20.0));
        assert!(f[1].holds(900.0) && !f[1].holds(901.0));
        assert_eq!(parse_filter("", &names, &[]).unwrap(), vec![]);
        assert_eq!(
            parse_filter("radius > 2", &names, &[]).unwrap_err(),
            "`radius` is not a column of the data"
        );
        assert_eq!(
            parse_filter("worst radius > big", &names, &[]).unwrap_err(),
            "`big` is not a number"
        );
        assert!(parse_filter("worst radius", &names, &[]).is_err());
    }

    #[test]
    fn a_category_is_compared_by_its_name() {
        let names: Vec<String> = ["island", "bill"].map(String::from).to_vec();
        let cats = vec![
            Some(Categories(vec![
                ("Biscoe".into(), 0.0),
                ("Dream".into(), 1.0),
            ])),
            None,
        ];
        let f = parse_filter("island = dream and bill > 40", &names, &cats).unwrap();
        assert!(f[0].holds(1.0) && !f[0].holds(0.0));
        assert!(parse_filter("island != Biscoe", &names, &cats).unwrap()[0].holds(1.0));
        assert_eq!(
            parse_filter("island = Atlantis", &names, &cats).unwrap_err(),
            "`Atlantis` is not a category of island (Biscoe, Dream)"
        );
        assert!(
            parse_filter("island > Biscoe", &names, &cats)
                .unwrap_err()
                .contains("is a category")
        );
    }
}
