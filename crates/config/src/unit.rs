//! Reading one piece of the tree (a listener, a site, a route) with serde, so that every
//! mistake in it is reported, not only the first.
//!
//! serde stops at the first error. Each time it does, the error is recorded, the key it points
//! at is taken out of the tree, and the piece is read again, until it reads cleanly (or nothing
//! more can be taken out). What is left of the piece is still judged, so the mistakes of the
//! keys that read well are reported too; the names taken out come back with it, so that checks
//! which would only repeat a mistake (a route whose handler was refused "has no handler") are
//! skipped.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use crate::diag::Collector;

/// At most this many mistakes are reported from one piece; a piece with more is likely not
/// the shape the writer meant at all, and the first ones say so.
const MAX_ERRORS_PER_PIECE: usize = 32;

/// Reads `value` as a `T`, reporting every mistake to `diags`: what could be read, and the
/// names of the keys taken out to read it; `None` when a required key is missing.
pub(crate) fn read<T: DeserializeOwned>(
    mut value: Spanned<DeValue<'_>>,
    diags: &mut Collector<'_>,
) -> Option<(T, Vec<String>)> {
    let whole = value.span();
    let mut removed: Vec<String> = Vec::new();
    for _ in 0..MAX_ERRORS_PER_PIECE {
        let error = match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(t) => return Some((t, removed)),
            Err(e) => e,
        };
        let message = clean(error.message());
        // A key refused a moment ago is now missing: already reported.
        if let Some(name) = missing_field(&message)
            && removed.iter().any(|r| r == name)
        {
            return None;
        }
        let span = error.span().unwrap_or(whole.clone());
        diags.at(span.clone(), message);
        match remove_at(&mut value, &span) {
            Some(name) => removed.push(name),
            None => return None,
        }
    }
    None
}

/// serde's message as one line, with toml's own position notes left out (ours come first).
fn clean(message: &str) -> String {
    let line = message.lines().next().unwrap_or("").trim();
    line.trim_end_matches('.').to_string()
}

/// The field named in serde's "missing field `x`".
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Takes out of `value` the innermost key (or array element) whose key or value holds `at`,
/// returning its name; `None` when `at` is `value` itself.
fn remove_at(value: &mut Spanned<DeValue<'_>>, at: &Range<usize>) -> Option<String> {
    match value.get_mut() {
        DeValue::Table(table) => {
            let mut hit = None;
            for (k, v) in table.iter_mut() {
                if contains(&k.span(), at) {
                    hit = Some(k.get_ref().to_string());
                    break;
                }
                if contains(&v.span(), at) {
                    if v.span() != *at
                        && let Some(inner) = remove_at(v, at)
                    {
                        return Some(inner);
                    }
                    hit = Some(k.get_ref().to_string());
                    break;
                }
            }
            let name = hit?;
            table.remove(name.as_str());
            Some(name)
        }
        DeValue::Array(array) => {
            let i = array.iter().position(|v| contains(&v.span(), at))?;
            let items: &mut [Spanned<DeValue<'_>>] = array;
            if items[i].span() != *at
                && let Some(inner) = remove_at(&mut items[i], at)
            {
                return Some(inner);
            }
            let mut kept = toml::de::DeArray::new();
            for (j, v) in std::mem::replace(array, toml::de::DeArray::new())
                .into_iter()
                .enumerate()
            {
                if j != i {
                    kept.push(v);
                }
            }
            *array = kept;
            Some(String::new())
        }
        _ => None,
    }
}
