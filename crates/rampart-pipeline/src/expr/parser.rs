//! Recursive descent over tokens, with JEXL's precedence (loosest first):
//! `?:`, `||`, `&&`, equality, ordering, `+ -`, `* / %`, unary `! -`,
//! postfix `.name`, `[index]`, `.method(args)`.

use super::ExprError;
use super::Value;
use super::ast::{BinOp, Kind, Method, Node, PostOp, Segment, UnaryOp};
use super::lexer::{Tok, Token};

/// How deep parentheses, `<+...>`, arguments, indexes, ternaries and unary
/// operators may nest. Keeps recursion (parse, evaluate, drop) far from the
/// stack's end.
pub(crate) const MAX_NESTING: usize = 64;

/// Caps path length so looking a path up (prefix by prefix) stays cheap.
pub(crate) const MAX_PATH_SEGMENTS: usize = 64;

/// Parses the tokens of one template expression, `<+` ... `>`.
pub(crate) fn parse_bracket(src: &str, toks: &[Token]) -> Result<Node, ExprError> {
    let mut p = Parser::new(src, toks);
    let node = p.nested()?;
    p.expect(&Tok::Eof, "the end of the expression")?;
    Ok(node)
}

/// Parses the tokens of a whole condition.
pub(crate) fn parse_condition(src: &str, toks: &[Token]) -> Result<Node, ExprError> {
    let mut p = Parser::new(src, toks);
    if p.peek().tok == Tok::Eof {
        return Err(ExprError {
            message: "empty condition: expected an expression such as \
                      `<+codebase.branch> == \"main\"`"
                .to_owned(),
            offset: p.peek().start,
        });
    }
    let node = p.expr()?;
    p.expect(&Tok::Eof, "an operator or the end of the condition")?;
    Ok(node)
}

struct Parser<'a> {
    src: &'a str,
    toks: &'a [Token],
    pos: usize,
    depth: usize,
    /// Returned by `peek` past the end; the lexer always ends with `Eof`, so
    /// this only guards against a bug turning into a panic.
    eof: Token,
}

type ParseFn<'a> = fn(&mut Parser<'a>) -> Result<Node, ExprError>;

impl<'a> Parser<'a> {
    fn new(src: &'a str, toks: &'a [Token]) -> Self {
        Parser {
            src,
            toks,
            pos: 0,
            depth: 0,
            eof: Token {
                tok: Tok::Eof,
                start: src.len(),
                end: src.len(),
            },
        }
    }

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, k: usize) -> &Token {
        self.toks
            .get(self.pos + k)
            .or_else(|| self.toks.last())
            .unwrap_or(&self.eof)
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if &self.peek().tok == tok {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<Token, ExprError> {
        if &self.peek().tok == tok {
            Ok(self.bump())
        } else {
            Err(self.expected(what))
        }
    }

    fn expected(&self, what: &str) -> ExprError {
        let t = self.peek();
        let mut message = format!("expected {what}, found {}", self.describe(t));
        if t.tok == Tok::Close {
            message.push_str(
                "; inside `<+...>` the first `>` ends the expression, so write `gt` or `ge` \
                 for greater-than comparisons there",
            );
        }
        ExprError {
            message,
            offset: t.start,
        }
    }

    fn describe(&self, t: &Token) -> String {
        match &t.tok {
            Tok::Eof => "the end of the input".to_owned(),
            Tok::Close => "`>` (which ends the `<+...>`)".to_owned(),
            Tok::Str(s) => {
                let excerpt: String = s.chars().take(40).collect();
                format!("string {excerpt:?}")
            }
            Tok::Number(_) => format!("number `{}`", self.text(t)),
            _ => format!("`{}`", self.text(t)),
        }
    }

    fn text(&self, t: &Token) -> &str {
        self.src.get(t.start..t.end).unwrap_or("?")
    }

    fn enter(&mut self, offset: usize) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(ExprError {
                message: format!(
                    "expression nested more than {MAX_NESTING} levels deep: simplify it, \
                     or compute parts of it in variables"
                ),
                offset,
            });
        }
        Ok(())
    }

    /// A full expression; every place that nests one goes through here.
    fn expr(&mut self) -> Result<Node, ExprError> {
        self.enter(self.peek().start)?;
        let node = self.ternary()?;
        self.depth -= 1;
        Ok(node)
    }

    fn ternary(&mut self) -> Result<Node, ExprError> {
        let cond = self.or()?;
        if !self.eat(&Tok::Question) {
            return Ok(cond);
        }
        let then = self.expr()?;
        self.expect(&Tok::Colon, "`:` between the two branches of `? :`")?;
        let other = self.expr()?;
        Ok(Node {
            start: cond.start,
            kind: Kind::Ternary(Box::new(cond), Box::new(then), Box::new(other)),
        })
    }

    fn or(&mut self) -> Result<Node, ExprError> {
        self.chain(Self::and, |t| (t == &Tok::OrOr).then_some(BinOp::Or))
    }

    fn and(&mut self) -> Result<Node, ExprError> {
        self.chain(Self::equality, |t| {
            (t == &Tok::AndAnd).then_some(BinOp::And)
        })
    }

    fn equality(&mut self) -> Result<Node, ExprError> {
        self.chain(Self::ordering, |t| match t {
            Tok::EqEq => Some(BinOp::Eq),
            Tok::NotEq => Some(BinOp::Ne),
            _ => None,
        })
    }

    fn ordering(&mut self) -> Result<Node, ExprError> {
        self.chain(Self::additive, |t| match t {
            Tok::Lt => Some(BinOp::Lt),
            Tok::Le => Some(BinOp::Le),
            Tok::Gt => Some(BinOp::Gt),
            Tok::Ge => Some(BinOp::Ge),
            _ => None,
        })
    }

    fn additive(&mut self) -> Result<Node, ExprError> {
        self.chain(Self::multiplicative, |t| match t {
            Tok::Plus => Some(BinOp::Add),
            Tok::Minus => Some(BinOp::Sub),
            _ => None,
        })
    }

    fn multiplicative(&mut self) -> Result<Node, ExprError> {
        self.chain(Self::unary, |t| match t {
            Tok::Star => Some(BinOp::Mul),
            Tok::Slash => Some(BinOp::Div),
            Tok::Percent => Some(BinOp::Rem),
            _ => None,
        })
    }

    /// One precedence level: operands from `next`, joined by operators
    /// `op_of` recognises, kept flat.
    fn chain(
        &mut self,
        next: ParseFn<'a>,
        op_of: fn(&Tok) -> Option<BinOp>,
    ) -> Result<Node, ExprError> {
        let first = next(self)?;
        let mut rest = Vec::new();
        while let Some(op) = op_of(&self.peek().tok) {
            self.bump();
            rest.push((op, next(self)?));
        }
        if rest.is_empty() {
            return Ok(first);
        }
        Ok(Node {
            start: first.start,
            kind: Kind::Chain(Box::new(first), rest),
        })
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        let op = match self.peek().tok {
            Tok::Bang => UnaryOp::Not,
            Tok::Minus => UnaryOp::Neg,
            _ => return self.postfix(),
        };
        let start = self.bump().start;
        self.enter(start)?;
        let operand = self.unary()?;
        self.depth -= 1;
        Ok(Node {
            start,
            kind: Kind::Unary(op, Box::new(operand)),
        })
    }

    fn postfix(&mut self) -> Result<Node, ExprError> {
        let base = self.primary()?;
        let mut ops = Vec::new();
        loop {
            match self.peek().tok {
                Tok::Dot => {
                    self.bump();
                    let name_tok = self.peek().clone();
                    match name_tok.tok {
                        Tok::Name(name) => {
                            self.bump();
                            if self.peek().tok == Tok::LParen {
                                let args = self.args()?;
                                let method = self.method(&name, name_tok.start, args.len())?;
                                ops.push(PostOp::Call(method, args));
                            } else {
                                ops.push(PostOp::Member(name));
                            }
                        }
                        Tok::Open => ops.push(PostOp::Index(self.nested()?)),
                        _ => return Err(self.expected("a name after `.`")),
                    }
                }
                Tok::LBracket => {
                    self.bump();
                    let key = self.expr()?;
                    self.expect(&Tok::RBracket, "`]` to close the `[`")?;
                    ops.push(PostOp::Index(key));
                }
                _ => break,
            }
        }
        if ops.is_empty() {
            return Ok(base);
        }
        Ok(Node {
            start: base.start,
            kind: Kind::Postfix(Box::new(base), ops),
        })
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let t = self.peek().clone();
        let value = match t.tok {
            Tok::Number(n) => Value::Number(n),
            Tok::Str(s) => Value::String(s),
            Tok::True => Value::Bool(true),
            Tok::False => Value::Bool(false),
            Tok::Null => Value::Null,
            Tok::LParen => {
                self.bump();
                let inner = self.expr()?;
                self.expect(&Tok::RParen, "an operator or `)` to close the `(`")?;
                return Ok(inner);
            }
            Tok::Open => return self.nested(),
            Tok::Name(root) => {
                self.bump();
                return self.path(root, t.start);
            }
            _ => {
                return Err(self.expected("a value (a string, a number, a name, `(` or `<+...>`)"));
            }
        };
        self.bump();
        Ok(Node {
            kind: Kind::Literal(value),
            start: t.start,
        })
    }

    /// `<+ expr >` inside an expression.
    fn nested(&mut self) -> Result<Node, ExprError> {
        self.expect(&Tok::Open, "`<+`")?;
        if self.peek().tok == Tok::Close {
            return Err(self.expected("an expression after `<+`"));
        }
        let inner = self.expr()?;
        self.expect(&Tok::Close, "an operator or `>` to end the `<+...>`")?;
        Ok(inner)
    }

    /// A dotted path starting at `root`; stops before a method call, which
    /// `postfix` applies to the path's value. `secrets.getValue(id)` becomes
    /// a secret lookup here.
    fn path(&mut self, root: String, start: usize) -> Result<Node, ExprError> {
        if self.peek().tok == Tok::LParen {
            return Err(ExprError {
                message: format!(
                    "`{root}(...)` is not supported: there are no free functions; \
                     call a method on a value instead, such as `<+pipeline.name>.trim()`"
                ),
                offset: start,
            });
        }
        let mut segments = vec![Segment::Name(root)];
        let mut segment_start = start;
        loop {
            if segments.len() > MAX_PATH_SEGMENTS {
                return Err(ExprError {
                    message: format!(
                        "path has more than {MAX_PATH_SEGMENTS} segments: no pipeline path \
                         is this long"
                    ),
                    offset: segment_start,
                });
            }
            segment_start = self.peek().start;
            match self.peek().tok {
                Tok::Dot => match self.peek_at(1).tok.clone() {
                    Tok::Name(name) if self.peek_at(2).tok == Tok::LParen => {
                        let is_secrets =
                            matches!(segments.as_slice(), [Segment::Name(r)] if r == "secrets");
                        if is_secrets && name == "getValue" {
                            self.bump();
                            let name_start = self.bump().start;
                            return self.secret(start, name_start);
                        }
                        break;
                    }
                    Tok::Name(name) => {
                        self.bump();
                        self.bump();
                        segments.push(Segment::Name(name));
                    }
                    Tok::Open => {
                        self.bump();
                        segments.push(Segment::Computed(self.nested()?));
                    }
                    _ => break,
                },
                Tok::LBracket => {
                    self.bump();
                    let key = self.expr()?;
                    self.expect(&Tok::RBracket, "`]` to close the `[`")?;
                    segments.push(match key.kind {
                        Kind::Literal(Value::String(s)) => Segment::Name(s),
                        Kind::Literal(Value::Number(n)) if n >= 0.0 && n.fract() == 0.0 => {
                            Segment::Name(Value::Number(n).to_string())
                        }
                        _ => Segment::Computed(key),
                    });
                }
                _ => break,
            }
        }
        Ok(Node {
            kind: Kind::Path(segments),
            start,
        })
    }

    fn secret(&mut self, start: usize, name_start: usize) -> Result<Node, ExprError> {
        let [id]: [Node; 1] = self
            .args()?
            .try_into()
            .map_err(|args: Vec<Node>| ExprError {
                message: format!(
                    "`secrets.getValue` takes exactly one argument, the secret id \
                 (like `secrets.getValue(\"token\")`), found {}",
                    args.len()
                ),
                offset: name_start,
            })?;
        Ok(Node {
            kind: Kind::Secret(Box::new(id)),
            start,
        })
    }

    fn args(&mut self) -> Result<Vec<Node>, ExprError> {
        self.expect(&Tok::LParen, "`(`")?;
        let mut args = Vec::new();
        if self.eat(&Tok::RParen) {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if !self.eat(&Tok::Comma) {
                self.expect(&Tok::RParen, "`,` or `)` after an argument")?;
                return Ok(args);
            }
        }
    }

    fn method(&self, name: &str, offset: usize, found: usize) -> Result<Method, ExprError> {
        let Some(method) = Method::from_name(name) else {
            let known: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
            return Err(ExprError {
                message: format!(
                    "unknown method `{name}`: the supported methods are {}",
                    known.join(", ")
                ),
                offset,
            });
        };
        let (min, max) = method.arity();
        if found < min || found > max {
            let wanted = match (min, max) {
                (0, 0) => "no arguments",
                (1, 1) => "one argument",
                (2, 2) => "two arguments",
                (1, 2) => "one or two arguments",
                _ => "one or more arguments",
            };
            return Err(ExprError {
                message: format!("`{name}` takes {wanted}, found {found}"),
                offset,
            });
        }
        Ok(method)
    }
}
