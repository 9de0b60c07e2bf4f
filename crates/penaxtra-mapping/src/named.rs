//! Enums named by a fixed string (`Severity`, `FindingState`): `Display`,
//! case-insensitive `FromStr` and string serde, from their `ALL` list and
//! `as_str`.

/// Implements `Display`, `FromStr` (ignoring case and surrounding
/// whitespace; an unknown name is `MappingError::$unknown`) and string
/// serde for an enum with `ALL` and `as_str`.
macro_rules! named_enum {
    ($ty:ident, $unknown:ident) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::MappingError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim();
                $ty::ALL
                    .into_iter()
                    .find(|v| v.as_str().eq_ignore_ascii_case(wanted))
                    .ok_or_else(|| $crate::MappingError::$unknown {
                        value: $crate::error::excerpt_of(s),
                    })
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <String as serde::Deserialize>::deserialize(d)?
                    .parse()
                    .map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use named_enum;
