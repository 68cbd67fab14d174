//! Numbers and names as people read them: `1,420`, `0.18`, `92%`, a feature's display name and
//! unit from the card.

use crate::model::ModelCard;

/// Three significant digits, thousands separated: `1,420`, `14.1`, `0.182`, `0.0049`.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    let text = if a >= 1000.0 {
        format!("{:.0}", v)
    } else {
        let decimals = (2 - a.log10().floor() as i32).clamp(0, 6) as usize;
        let s = format!("{v:.decimals$}");
        // 0.100 reads as 0.1 once it has three significant digits shown.
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    group_thousands(&text)
}

fn group_thousands(text: &str) -> String {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("−", r),
        None => ("", text),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A signed contribution: `+0.21`, `−0.04` (two significant digits).
pub fn signed(v: f64) -> String {
    let a = v.abs();
    let digits = if a == 0.0 || !a.is_finite() {
        2
    } else {
        (1 - a.log10().floor() as i32).clamp(0, 6) as usize
    };
    let body = format!("{a:.digits$}");
    if v < 0.0 {
        format!("−{body}")
    } else {
        format!("+{body}")
    }
}

/// A probability as a rounded percentage: `92%`, `<1%`, `>99%`.
pub fn percent(p: f64) -> String {
    let v = p * 100.0;
    if v > 0.0 && v < 1.0 {
        "<1%".into()
    } else if v > 99.0 && v < 100.0 {
        ">99%".into()
    } else {
        format!("{v:.0}%")
    }
}

/// A feature's name as the card labels it.
pub fn feature(card: &ModelCard, name: &str) -> String {
    card.display_name(name).to_string()
}

/// A feature's value with its unit: `1,420 µm²`.
/// Feature `f`'s value `v` in `data`'s words: its category for a text feature, else the number
/// with the card's unit.
pub fn data_value(card: &ModelCard, data: &crate::data::Dataset, f: usize, v: f32) -> String {
    match data.category_name(f, v) {
        Some(category) => category.to_string(),
        None => value(card, &data.feature_names[f], v),
    }
}

pub fn value(card: &ModelCard, name: &str, v: f32) -> String {
    match card.unit(name) {
        Some(u) => format!("{} {u}", number(v as f64)),
        None => number(v as f64),
    }
}

/// The card's subject, capitalised (`Patient`); `Case` without one.
pub fn subject(card: &ModelCard) -> String {
    let s = card.subject.as_deref().unwrap_or("case").trim();
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => "Case".into(),
    }
}

/// How a contribution moved an estimate, in words: `raised the estimate by 21 points`,
/// `lowered it by less than a point` (probabilities), or `raised the prediction by 0.21`.
pub fn moved(v: f64, probability: bool) -> String {
    let verb = if v >= 0.0 { "raised" } else { "lowered" };
    if !probability {
        return format!("{verb} the prediction by {}", number(v.abs()));
    }
    let points = (v.abs() * 100.0).round();
    if points < 1.0 {
        format!("{verb} the estimate by less than a point")
    } else if points == 1.0 {
        format!("{verb} the estimate by 1 point")
    } else {
        format!("{verb} the estimate by {points:.0} points")
    }
}

/// The plural of the card's subject (`patient` → `patients`; default `rows`).
pub fn subjects(card: &ModelCard) -> String {
    match card.subject.as_deref() {
        None => "rows".into(),
        Some(s) if s.ends_with('s') => s.to_string(),
        Some(s) => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(number(1420.3), "1,420");
        assert_eq!(number(1234567.0), "1,234,567");
        assert_eq!(number(0.1823), "0.182");
        assert_eq!(number(14.1), "14.1");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(-2500.0), "−2,500");
        assert_eq!(number(0.004912), "0.00491");
        assert_eq!(signed(0.2134), "+0.21");
        assert_eq!(signed(-0.0412), "−0.041");
        assert_eq!(signed(1.5), "+1.5");
        assert_eq!(percent(0.923), "92%");
        assert_eq!(percent(0.004), "<1%");
        assert_eq!(percent(0.9995), ">99%");
    }
}
