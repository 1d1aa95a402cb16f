//! Metric formulas from the scenario, e.g. `potential = "annual_revenue * propensity"`.
//! Grammar: + - * / on numbers and column names, parentheses, and the functions
//! sqrt, ln, ln1p, log10, abs, min, max. Small on purpose: analysts read these.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Col(String),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Sqrt,
    Ln,
    Ln1p,
    Log10,
    Abs,
    Min,
    Max,
}

impl Func {
    fn parse(name: &str) -> Option<(Func, usize)> {
        Some(match name {
            "sqrt" => (Func::Sqrt, 1),
            "ln" => (Func::Ln, 1),
            "ln1p" => (Func::Ln1p, 1),
            "log10" => (Func::Log10, 1),
            "abs" => (Func::Abs, 1),
            "min" => (Func::Min, 2),
            "max" => (Func::Max, 2),
            _ => return None,
        })
    }
}

pub const MAX_FORMULA_CHARS: usize = 1000;

/// A parse error with the 1-based character position inside the formula.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at character {position} of the formula: {message}")]
pub struct ExprError {
    pub position: usize,
    pub message: String,
}

impl Expr {
    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        // The parser recurses per parenthesis; a bound keeps hostile input off the stack.
        if text.chars().count() > MAX_FORMULA_CHARS {
            return Err(ExprError {
                position: MAX_FORMULA_CHARS + 1,
                message: format!("a formula may have at most {MAX_FORMULA_CHARS} characters"),
            });
        }
        let mut p = Parser {
            chars: text.chars().collect(),
            pos: 0,
        };
        let e = p.sum()?;
        p.skip_ws();
        if p.pos < p.chars.len() {
            return Err(p.err(format!("unexpected '{}'", p.chars[p.pos])));
        }
        Ok(e)
    }

    /// Column names the formula reads, in first-use order, without repeats.
    pub fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut Vec<String>) {
        match self {
            Expr::Num(_) => {}
            Expr::Col(c) => {
                if !out.contains(c) {
                    out.push(c.clone())
                }
            }
            Expr::Neg(e) => e.collect(out),
            Expr::Bin(_, a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.collect(out)),
        }
    }

    /// Evaluates with `value(i)` giving the i-th column of `columns()`.
    pub fn eval(&self, columns: &[String], value: &dyn Fn(usize) -> f64) -> f64 {
        match self {
            Expr::Num(v) => *v,
            Expr::Col(c) => value(columns.iter().position(|x| x == c).unwrap_or(usize::MAX)),
            Expr::Neg(e) => -e.eval(columns, value),
            Expr::Bin(op, a, b) => {
                let (a, b) = (a.eval(columns, value), b.eval(columns, value));
                match op {
                    Op::Add => a + b,
                    Op::Sub => a - b,
                    Op::Mul => a * b,
                    Op::Div => a / b,
                }
            }
            Expr::Call(f, args) => {
                let a = args[0].eval(columns, value);
                match f {
                    Func::Sqrt => a.sqrt(),
                    Func::Ln => a.ln(),
                    Func::Ln1p => a.ln_1p(),
                    Func::Log10 => a.log10(),
                    Func::Abs => a.abs(),
                    Func::Min => a.min(args[1].eval(columns, value)),
                    Func::Max => a.max(args[1].eval(columns, value)),
                }
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Num(v) => write!(f, "{v}"),
            Expr::Col(c) => write!(f, "{c}"),
            Expr::Neg(e) => write!(f, "-({e})"),
            Expr::Bin(op, a, b) => {
                let s = match op {
                    Op::Add => "+",
                    Op::Sub => "-",
                    Op::Mul => "*",
                    Op::Div => "/",
                };
                write!(f, "({a} {s} {b})")
            }
            Expr::Call(func, args) => {
                let name = format!("{func:?}").to_lowercase();
                let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                write!(f, "{name}({})", args.join(", "))
            }
        }
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn err(&self, message: String) -> ExprError {
        ExprError {
            position: self.pos + 1,
            message,
        }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.chars.len() && self.chars[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).copied()
    }

    fn sum(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.product()?;
        while let Some(c @ ('+' | '-')) = self.peek() {
            self.pos += 1;
            let right = self.product()?;
            let op = if c == '+' { Op::Add } else { Op::Sub };
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.unary()?;
        while let Some(c @ ('*' | '/')) = self.peek() {
            self.pos += 1;
            let right = self.unary()?;
            let op = if c == '*' { Op::Mul } else { Op::Div };
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.peek() == Some('-') {
            self.pos += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, ExprError> {
        match self.peek() {
            None => Err(self.err("the formula ends too early".into())),
            Some('(') => {
                self.pos += 1;
                let e = self.sum()?;
                self.expect(')')?;
                Ok(e)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => {
                let start = self.pos;
                while self.pos < self.chars.len()
                    && (self.chars[self.pos].is_ascii_digit()
                        || matches!(self.chars[self.pos], '.' | 'e' | 'E')
                        || (matches!(self.chars[self.pos], '+' | '-')
                            && matches!(self.chars[self.pos - 1], 'e' | 'E')))
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                text.parse::<f64>().map(Expr::Num).map_err(|_| ExprError {
                    position: start + 1,
                    message: format!("'{text}' is not a number"),
                })
            }
            Some(c) if c.is_alphabetic() || c == '_' => {
                let start = self.pos;
                while self.pos < self.chars.len()
                    && (self.chars[self.pos].is_alphanumeric() || self.chars[self.pos] == '_')
                {
                    self.pos += 1;
                }
                let name: String = self.chars[start..self.pos].iter().collect();
                if self.peek() != Some('(') {
                    return Ok(Expr::Col(name));
                }
                let Some((func, arity)) = Func::parse(&name) else {
                    return Err(ExprError {
                        position: start + 1,
                        message: format!(
                            "unknown function '{name}' (known: sqrt, ln, ln1p, log10, abs, min, max)"
                        ),
                    });
                };
                self.pos += 1;
                let mut args = vec![self.sum()?];
                while self.peek() == Some(',') {
                    self.pos += 1;
                    args.push(self.sum()?);
                }
                self.expect(')')?;
                if args.len() != arity {
                    return Err(self.err(format!("{name} takes {arity} argument(s)")));
                }
                Ok(Expr::Call(func, args))
            }
            Some(c) => Err(self.err(format!("unexpected '{c}'"))),
        }
    }

    fn expect(&mut self, c: char) -> Result<(), ExprError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected '{c}'")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, vals: &[(&str, f64)]) -> f64 {
        let e = Expr::parse(text).unwrap();
        let cols = e.columns();
        e.eval(&cols, &|i| {
            vals.iter()
                .find(|(n, _)| *n == cols[i])
                .map(|(_, v)| *v)
                .unwrap()
        })
    }

    #[test]
    fn precedence_and_functions() {
        assert_eq!(eval("1 + 2 * 3", &[]), 7.0);
        assert_eq!(eval("(1 + 2) * 3", &[]), 9.0);
        assert_eq!(eval("-a + b / 2", &[("a", 1.0), ("b", 4.0)]), 1.0);
        assert_eq!(eval("max(a, 3) * sqrt(16)", &[("a", 1.0)]), 12.0);
        assert_eq!(eval("2e3 * x", &[("x", 0.5)]), 1000.0);
    }

    #[test]
    fn columns_in_first_use_order() {
        let e = Expr::parse("annual_revenue * propensity + annual_revenue").unwrap();
        assert_eq!(e.columns(), vec!["annual_revenue", "propensity"]);
    }

    #[test]
    fn errors_point_at_the_character() {
        let e = Expr::parse("a * (b + ").unwrap_err();
        assert_eq!(e.position, 10);
        let e = Expr::parse("foo(a)").unwrap_err();
        assert!(e.message.contains("unknown function"));
        assert!(Expr::parse("a b").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
        let e = Expr::parse(&deep).unwrap_err();
        assert!(e.message.contains("at most"), "{}", e.message);
        let ok = format!("{}1{}", "(".repeat(400), ")".repeat(400));
        assert_eq!(Expr::parse(&ok).unwrap(), Expr::Num(1.0));
    }
}
