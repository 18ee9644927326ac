//! `--name value` flags of the helper binaries (no positional arguments, no dependencies).

use std::collections::HashMap;
use std::str::FromStr;

/// Parsed flags; every lookup reports a readable error.
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    /// Parses `--name value` pairs; a repeated flag keeps its last value.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut values = HashMap::new();
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            let Some(name) = flag.strip_prefix("--") else {
                return Err(format!("unexpected argument {flag:?}"));
            };
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            values.insert(name.to_string(), value);
        }
        Ok(Args { values })
    }

    /// The process's own arguments.
    pub fn from_env() -> Result<Args, String> {
        Args::parse(std::env::args().skip(1))
    }

    pub fn required<T: FromStr>(&self, name: &str) -> Result<T, String> {
        self.optional(name)?
            .ok_or_else(|| format!("missing --{name}"))
    }

    pub fn optional<T: FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.values
            .get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| format!("--{name}: cannot parse {v:?}"))
            })
            .transpose()
    }

    pub fn or<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        Ok(self.optional(name)?.unwrap_or(default))
    }

    /// A comma-separated list.
    pub fn list<T: FromStr>(&self, name: &str) -> Result<Vec<T>, String> {
        let text: String = self.required(name)?;
        text.split(',')
            .map(|v| {
                v.trim()
                    .parse::<T>()
                    .map_err(|_| format!("--{name}: cannot parse {v:?}"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Args, String> {
        Args::parse(text.split_whitespace().map(String::from))
    }

    #[test]
    fn flags_values_and_errors() {
        let args = parse("--freq 440 --senders 2,3 --freq 1000").unwrap();
        assert_eq!(args.required::<f64>("freq"), Ok(1000.0));
        assert_eq!(args.list::<u32>("senders"), Ok(vec![2, 3]));
        assert_eq!(args.or("skip", 0u32), Ok(0));
        assert!(args.required::<u32>("room").is_err());
        assert!(parse("--freq").is_err());
        assert!(parse("440").is_err());
        assert!(parse("--freq x").unwrap().required::<f64>("freq").is_err());
    }
}
