//! Parsing ARM expressions (`[concat(parameters('p'), '-x')]`) into [`Expr`] trees.

use super::{err, ArmError};

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    Str(String),
    Num(i64),
    Ident(String),
    Call(String, Vec<Expr>),
    Member(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
}

pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    pub(super) pos: usize,
    pub(super) at: &'a str,
}

impl Parser<'_> {
    pub(super) fn fail(&self, what: &str) -> ArmError {
        err(self.at, format!("{what} at character {} of `[{}]`", self.pos + 1, self.src))
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    pub(super) fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    pub(super) fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    pub(super) fn expr(&mut self) -> Result<Expr, ArmError> {
        self.skip_ws();
        let mut e = match self.peek() {
            Some('\'') => {
                self.pos += 1;
                let mut s = String::new();
                loop {
                    match self.peek() {
                        None => return Err(self.fail("unterminated string")),
                        Some('\'') => {
                            self.pos += 1;
                            if self.peek() == Some('\'') {
                                self.pos += 1;
                                s.push('\'');
                            } else {
                                break;
                            }
                        }
                        Some(c) => {
                            self.pos += c.len_utf8();
                            s.push(c);
                        }
                    }
                }
                Expr::Str(s)
            }
            Some(c) if c.is_ascii_digit() || c == '-' => {
                let start = self.pos;
                self.pos += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                Expr::Num(self.src[start..self.pos].parse().map_err(|_| self.fail("bad number"))?)
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    self.pos += 1;
                }
                let name = self.src[start..self.pos].to_string();
                if self.eat('(') {
                    let mut args = Vec::new();
                    if !self.eat(')') {
                        loop {
                            args.push(self.expr()?);
                            if self.eat(')') {
                                break;
                            }
                            if !self.eat(',') {
                                return Err(self.fail("expected `,` or `)`"));
                            }
                        }
                    }
                    Expr::Call(name, args)
                } else {
                    Expr::Ident(name)
                }
            }
            _ => return Err(self.fail("expected a string, number or function call")),
        };
        loop {
            if self.eat('.') {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    self.pos += 1;
                }
                if start == self.pos {
                    return Err(self.fail("expected a property name after `.`"));
                }
                e = Expr::Member(Box::new(e), self.src[start..self.pos].to_string());
            } else if self.eat('[') {
                let i = self.expr()?;
                if !self.eat(']') {
                    return Err(self.fail("expected `]`"));
                }
                e = Expr::Index(Box::new(e), Box::new(i));
            } else {
                return Ok(e);
            }
        }
    }
}
