//! The "Semantic cache" card's form: the tenant's own similarity threshold as typed, checked
//! as the server checks it (0.5 to 1.0; empty means each model's own), and the words a model
//! card uses to describe a model's semantic cache.

/// The threshold field's text as the request's value: `None` for an empty field.
///
/// # Errors
/// A sentence saying what is wrong, for the field.
pub fn threshold(text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let value: f64 = text
        .replace(',', ".")
        .parse()
        .map_err(|_| "Enter a number like 0.95, or leave it empty.".to_owned())?;
    if !value.is_finite() || !(0.5..=1.0).contains(&value) {
        return Err("Enter a number from 0.5 to 1.0.".to_owned());
    }
    Ok(Some(value))
}

/// A saved threshold as the field shows it: empty for none.
pub fn threshold_text(threshold: Option<f64>) -> String {
    threshold.map(|it| format!("{it}")).unwrap_or_default()
}

/// What the card says the tenant's calls get now.
pub fn current(threshold: Option<f64>) -> String {
    match threshold {
        None => "Each model's own threshold applies.".to_owned(),
        Some(it) => format!(
            "A similar prompt's answer is served when its similarity is at least {it} on every model with a semantic cache."
        ),
    }
}

/// A model card's line about its semantic cache, when it has one.
pub fn model_line(threshold: Option<f64>, embedding_model: Option<&str>) -> Option<String> {
    let (threshold, model) = (threshold?, embedding_model?);
    Some(format!("semantic: threshold {threshold} via {model}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_checked_like_the_server_does() {
        assert_eq!(threshold(""), Ok(None));
        assert_eq!(threshold("  "), Ok(None));
        assert_eq!(threshold("0.95"), Ok(Some(0.95)));
        assert_eq!(threshold(" 1 "), Ok(Some(1.0)));
        assert_eq!(threshold("0,9"), Ok(Some(0.9)), "a decimal comma");
        assert_eq!(threshold("0.5"), Ok(Some(0.5)));
        for bad in ["0.49", "1.01", "-1", "NaN", "inf"] {
            assert_eq!(
                threshold(bad),
                Err("Enter a number from 0.5 to 1.0.".to_owned()),
                "{bad}"
            );
        }
        assert!(threshold("high").is_err());
    }

    #[test]
    fn saved_thresholds_and_model_lines_read_plainly() {
        assert_eq!(threshold_text(None), "");
        assert_eq!(threshold_text(Some(0.95)), "0.95");
        assert_eq!(threshold_text(Some(1.0)), "1");
        assert!(current(None).contains("Each model's own"));
        assert!(current(Some(0.97)).contains("at least 0.97"));
        assert_eq!(
            model_line(Some(0.92), Some("embed")).as_deref(),
            Some("semantic: threshold 0.92 via embed")
        );
        assert_eq!(model_line(None, Some("embed")), None);
        assert_eq!(model_line(Some(0.92), None), None);
    }
}
