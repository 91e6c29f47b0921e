//! Path parameters: the `{name}` and `{*rest}` parts of a route pattern.

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::{FromRequestParts, Parts};
use crate::rejection::Rejection;

/// The parameters the router matched, in pattern order, percent-decoded. The router stores
/// them in the request's extensions; [`Path`] reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams {
    /// `(name, value)` pairs in pattern order.
    pub pairs: Vec<(String, String)>,
    /// The first parameter whose percent-escapes did not decode to UTF-8 (its value holds
    /// U+FFFD in their place); [`Path`] refuses such a request with `400`.
    pub invalid_utf8: Option<String>,
}

impl PathParams {
    /// The value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Path parameters deserialized into `T`: one value (`Path<u64>`), a tuple in pattern order
/// (`Path<(String, u32)>`), or a struct by name. A value that does not parse is a `400`.
///
/// ```
/// use web::{Path, Router, routing::get};
///
/// async fn message(Path(id): Path<u64>) -> String {
///     format!("message {id}")
/// }
///
/// let app: Router = Router::new().route("/guestbook/{id}", get(message));
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Path<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        let empty = PathParams::default();
        let params = parts.extensions.get::<PathParams>().unwrap_or(&empty);
        if let Some(name) = &params.invalid_utf8 {
            return Err(Rejection::InvalidPath(format!(
                "parameter `{name}` is not valid UTF-8"
            )));
        }
        T::deserialize(ParamsDeserializer(&params.pairs))
            .map(Path)
            .map_err(|e| Rejection::InvalidPath(e.0))
    }
}

/// A deserialization failure, with a message for the client.
#[derive(Debug)]
struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Deserializes the single parameter as a plain value.
macro_rules! single_value {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                self.single()?.$method(visitor)
            }
        )*
    };
}

/// All parameters: a map, a sequence, or (when there is exactly one) a single value.
struct ParamsDeserializer<'a>(&'a [(String, String)]);

impl<'de> de::Deserializer<'de> for ParamsDeserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            [(name, value)] => ValueDeserializer { name, value }.deserialize_any(visitor),
            _ => self.deserialize_map(visitor),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let pairs = self
            .0
            .iter()
            .map(|(name, value)| (name.as_str(), ValueDeserializer { name, value }));
        visitor.visit_map(de::value::MapDeserializer::new(pairs))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let values = self
            .0
            .iter()
            .map(|(name, value)| ValueDeserializer { name, value });
        visitor.visit_seq(de::value::SeqDeserializer::new(values))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        if len != self.0.len() {
            return Err(Error(format!(
                "expected {len} path parameters, the route has {}",
                self.0.len()
            )));
        }
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    single_value! {
        deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64, deserialize_f32,
        deserialize_f64, deserialize_char, deserialize_str, deserialize_string, deserialize_option,
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.single()?.deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        i128 u128 bytes byte_buf unit unit_struct identifier ignored_any
    }
}

impl<'de> ParamsDeserializer<'de> {
    /// The only parameter, for extracting a single value.
    fn single(&self) -> Result<ValueDeserializer<'de>, Error> {
        match self.0 {
            [(name, value)] => Ok(ValueDeserializer { name, value }),
            _ => Err(Error(format!(
                "expected 1 path parameter, the route has {}",
                self.0.len()
            ))),
        }
    }
}

/// One parameter's value: a string that numbers and booleans are parsed from.
struct ValueDeserializer<'a> {
    name: &'a str,
    value: &'a str,
}

macro_rules! parse_value {
    ($($method:ident => $visit:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                match self.value.parse() {
                    Ok(v) => visitor.$visit(v),
                    Err(_) => Err(Error(format!(
                        "{:?} is not a valid {} for parameter `{}`",
                        self.value,
                        stringify!($method).trim_start_matches("deserialize_"),
                        self.name
                    ))),
                }
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str(self.value)
    }

    parse_value! {
        deserialize_bool => visit_bool,
        deserialize_i8 => visit_i8, deserialize_i16 => visit_i16,
        deserialize_i32 => visit_i32, deserialize_i64 => visit_i64,
        deserialize_u8 => visit_u8, deserialize_u16 => visit_u16,
        deserialize_u32 => visit_u32, deserialize_u64 => visit_u64,
        deserialize_f32 => visit_f32, deserialize_f64 => visit_f64,
        deserialize_char => visit_char,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(self.value.into_deserializer())
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        i128 u128 str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, Error> for ValueDeserializer<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Ids {
        user: String,
        id: u32,
    }

    #[test]
    fn single_tuple_and_struct() {
        let p = params(&[("id", "42")]);
        assert_eq!(u64::deserialize(ParamsDeserializer(&p)).expect("u64"), 42);
        assert_eq!(
            String::deserialize(ParamsDeserializer(&p)).expect("string"),
            "42"
        );
        let p = params(&[("user", "ann"), ("id", "7")]);
        let t = <(String, u32)>::deserialize(ParamsDeserializer(&p)).expect("tuple");
        assert_eq!(t, ("ann".to_string(), 7));
        let s = Ids::deserialize(ParamsDeserializer(&p)).expect("struct");
        assert_eq!(
            s,
            Ids {
                user: "ann".into(),
                id: 7
            }
        );
    }

    #[test]
    fn bad_values_are_errors() {
        let p = params(&[("id", "x1")]);
        let e = u64::deserialize(ParamsDeserializer(&p)).expect_err("not a number");
        assert!(e.0.contains("`id`"), "{}", e.0);
        let p = params(&[("a", "1")]);
        assert!(<(u8, u8)>::deserialize(ParamsDeserializer(&p)).is_err());
    }

    use serde::Deserialize;
}
