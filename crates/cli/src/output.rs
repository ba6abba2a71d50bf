//! Printing answers: tables for people, JSON for scripts.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ColumnConstraint, ContentArrangement, Table};
use datapact_governance::{GenAi, Product};
use serde_json::Value;

pub fn enum_name<T: clap::ValueEnum>(v: T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// A table with the house style.
pub fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
    t
}

/// Whether `s` holds an id (`org_`, `ten_`, `key_`, ... and 32 hex digits, or a certificate's).
fn has_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(36)
        .any(|w| w[3] == b'_' && w[..3].iter().all(u8::is_ascii_lowercase) && w[4..].iter().all(u8::is_ascii_hexdigit))
        || (s.contains("cert_") && s.len() >= 37)
}

/// Keeps ids whole: a column holding one is never wrapped (unless a cell in it is so long that
/// the table could not be read anyway), so an id can be copied from the terminal.
pub fn keep_ids_whole(t: &mut Table) {
    let columns = t.column_count();
    let mut whole = vec![false; columns];
    let mut widest = vec![0usize; columns];
    for row in t.row_iter() {
        for (i, cell) in row.cell_iter().enumerate().take(columns) {
            let text = cell.content();
            whole[i] |= has_id(&text);
            widest[i] = widest[i].max(text.lines().map(|l| l.chars().count()).max().unwrap_or(0));
        }
    }
    for i in 0..columns {
        if whole[i]
            && widest[i] <= 100
            && let Some(c) = t.column_mut(i)
        {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
}

/// A JSON scalar as table text.
pub fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a.iter().map(|x| cell(Some(x))).collect::<Vec<_>>().join(", "),
        Some(other) => other.to_string(),
    }
}

/// Key/value rows for one JSON object.
pub fn object(v: &Value) -> Table {
    let mut t = table(&["field", "value"]);
    if let Some(map) = v.as_object() {
        for (k, val) in map {
            let text = match val {
                Value::Object(_) => serde_json::to_string(val).unwrap_or_default(),
                _ => cell(Some(val)),
            };
            t.add_row(vec![k.clone(), text]);
        }
    }
    keep_ids_whole(&mut t);
    t
}

/// Rows of selected fields for a JSON array of objects.
pub fn rows(items: &Value, fields: &[&str]) -> Table {
    let mut t = table(fields);
    for item in items.as_array().into_iter().flatten() {
        t.add_row(fields.iter().map(|f| cell(item.get(*f))).collect::<Vec<_>>());
    }
    keep_ids_whole(&mut t);
    t
}

fn mark(b: bool) -> &'static str {
    if b { "✅" } else { "❌" }
}

/// The catalog in the form of the vendor's public page: ✅ / ❌ / N/A, with footnotes.
pub fn catalog(products: &[Product]) -> String {
    let mut t = table(&[
        "Product",
        "Provide Services",
        "Fine-tune vendor models",
        "Fine-tune 3rd party models",
        "Integration with GenAI services",
        "Available without third-party LLMs",
        "id",
    ]);
    let mut notes = Vec::new();
    for p in products {
        let (integrates, without) = match p.genai {
            GenAi::None => ("N/A", "N/A"),
            GenAi::Optional => ("✅", "✅"),
            GenAi::Required => ("❌", "❌"),
        };
        let mut train = mark(p.train_vendor_models).to_string();
        if p.train_vendor_models && p.training_data_kinds.len() < 2 {
            notes.push(format!(
                "{}: vendor training uses {} data only",
                p.name,
                p.training_data_kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            train.push_str(&superscript(notes.len()));
        }
        let mut name = p.name.clone();
        if let Some(n) = &p.note {
            notes.push(format!("{}: {n}", p.name));
            name.push_str(&superscript(notes.len()));
        }
        t.add_row(vec![
            name,
            mark(p.provide_services).to_string(),
            train,
            mark(p.finetune_third_party).to_string(),
            integrates.to_string(),
            without.to_string(),
            p.id.clone(),
        ]);
    }
    keep_ids_whole(&mut t);
    let mut out = t.to_string();
    for (i, n) in notes.iter().enumerate() {
        out.push_str(&format!("\n{} {n}", superscript(i + 1)));
    }
    out
}

fn superscript(n: usize) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    n.to_string()
        .chars()
        .filter_map(|c| c.to_digit(10).map(|d| DIGITS[d as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_never_broken_across_lines() {
        let v = json!([{
            "id": "ten_01a203a57865707aad7f9df60403295b",
            "org": "org_01a203a565c77022b0c56a46bc98899f",
            "name": "a tenant whose name is long enough to need wrapping in a narrow terminal",
        }]);
        let mut t = rows(&v, &["id", "org", "name"]);
        t.set_width(80);
        let text = t.to_string();
        for id in [
            "ten_01a203a57865707aad7f9df60403295b",
            "org_01a203a565c77022b0c56a46bc98899f",
        ] {
            assert!(text.lines().any(|l| l.contains(id)), "{id} broken:\n{text}");
        }
        // Without the constraint the same table breaks them.
        let mut plain = table(&["id", "org", "name"]);
        plain.add_row(vec![
            cell(v[0].get("id")),
            cell(v[0].get("org")),
            cell(v[0].get("name")),
        ]);
        plain.set_width(80);
        let text = plain.to_string();
        assert!(
            !text.lines().any(|l| l.contains("ten_01a203a57865707aad7f9df60403295b")),
            "{text}"
        );
    }
}
