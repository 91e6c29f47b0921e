//! An ordered list of header fields.
//!
//! A request rarely has more than a few dozen fields, so a vector searched linearly beats a
//! hash map, keeps the order the client sent (which `/echo` and CGI's `HTTP_*` variables show),
//! and keeps repeated fields as separate entries.

use http::{HeaderName, HeaderValue};

/// A field name to look fields up by: a [`HeaderName`] (`http::header::ETAG`), compared as
/// one, or text, compared ignoring ASCII case (`"ETag"`). The constants are the faster: a
/// standard name compares as a small number, text letter by letter.
pub trait FieldName {
    /// Whether `field` is this name.
    fn names(&self, field: &HeaderName) -> bool;
}

impl FieldName for HeaderName {
    fn names(&self, field: &HeaderName) -> bool {
        self == field
    }
}

impl FieldName for &HeaderName {
    fn names(&self, field: &HeaderName) -> bool {
        *self == field
    }
}

impl FieldName for &str {
    fn names(&self, field: &HeaderName) -> bool {
        let field = field.as_str();
        field.len() == self.len() && field.eq_ignore_ascii_case(self)
    }
}

impl FieldName for String {
    fn names(&self, field: &HeaderName) -> bool {
        self.as_str().names(field)
    }
}

impl FieldName for &String {
    fn names(&self, field: &HeaderName) -> bool {
        self.as_str().names(field)
    }
}

/// Header fields in the order they were received or added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(HeaderName, HeaderValue)>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Headers::default()
    }

    /// An empty list with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Headers {
            fields: Vec::with_capacity(n),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: impl FieldName) -> Option<&HeaderValue> {
        self.fields
            .iter()
            .find(|(n, _)| name.names(n))
            .map(|(_, v)| v)
    }

    /// The first value of `name` as a string, if it is visible ASCII.
    pub fn get_str(&self, name: impl FieldName) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(
        &'a self,
        name: impl FieldName + 'a,
    ) -> impl Iterator<Item = &'a HeaderValue> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| name.names(n))
            .map(|(_, v)| v)
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: impl FieldName) -> bool {
        self.get(name).is_some()
    }

    /// How many fields named `name` there are.
    pub fn count(&self, name: impl FieldName) -> usize {
        self.get_all(name).count()
    }

    /// Appends a field, keeping any others of the same name.
    pub fn append(&mut self, name: HeaderName, value: HeaderValue) {
        self.fields.push((name, value));
    }

    /// Replaces every field named `name` with this one value.
    pub fn insert(&mut self, name: HeaderName, value: HeaderValue) {
        self.remove(&name);
        self.fields.push((name, value));
    }

    /// Removes every field named `name`.
    pub fn remove(&mut self, name: impl FieldName) {
        self.fields.retain(|(n, _)| !name.names(n));
    }

    /// All fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.fields.iter().map(|(n, v)| (n, v))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Whether the comma-separated list in the fields named `name` contains `token`
    /// (ASCII case-insensitive), as for `Connection: keep-alive, Upgrade`.
    pub fn has_token(&self, name: impl FieldName, token: &str) -> bool {
        self.get_all(name).any(|v| {
            v.as_bytes()
                .split(|&b| b == b',')
                .any(|item| trim_ows(item).eq_ignore_ascii_case(token.as_bytes()))
        })
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a HeaderName, &'a HeaderValue);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (HeaderName, HeaderValue)>,
        fn(&'a (HeaderName, HeaderValue)) -> (&'a HeaderName, &'a HeaderValue),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter().map(|(n, v)| (n, v))
    }
}

/// Strips optional whitespace (SP / HTAB) from both ends.
pub use semantics::list::trim_ows;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_ordered() {
        let mut h = Headers::new();
        h.append(
            HeaderName::from_static("x-a"),
            HeaderValue::from_static("1"),
        );
        h.append(
            HeaderName::from_static("x-b"),
            HeaderValue::from_static("2"),
        );
        h.append(
            HeaderName::from_static("x-a"),
            HeaderValue::from_static("3"),
        );
        assert_eq!(h.get_str("X-A"), Some("1"));
        assert_eq!(h.get_all("x-a").collect::<Vec<_>>(), ["1", "3"]);
        assert_eq!(h.count("x-a"), 2);
        h.insert(
            HeaderName::from_static("x-a"),
            HeaderValue::from_static("4"),
        );
        let names: Vec<_> = h
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(names, [("x-b", "2"), ("x-a", "4")]);
    }

    #[test]
    fn tokens_are_split_and_trimmed() {
        let mut h = Headers::new();
        h.append(
            HeaderName::from_static("connection"),
            HeaderValue::from_static("keep-alive , Upgrade"),
        );
        assert!(h.has_token("Connection", "upgrade"));
        assert!(h.has_token("connection", "Keep-Alive"));
        assert!(!h.has_token("connection", "close"));
    }
}
