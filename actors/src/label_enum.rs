//! The `label_enum!` macro: how every closed label set in codexd is declared (a Rust enum with
//! its wire names and the list of all its values), and the `Label` trait those enums share.
//! A leaf: it imports nothing, so a label set can live with its domain without import cycles.

/// A closed label value: its wire name, as logs and metric labels spell it.
pub trait Label: Copy {
    fn as_str(self) -> &'static str;
}

/// Declares a closed label enum with its snake_case wire names.
#[macro_export]
macro_rules! label_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name used in logs and metric labels.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl $crate::label_enum::Label for $name {
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
