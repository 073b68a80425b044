//! The syntax tree. Left-associative operator chains and postfix chains are
//! flat lists, so the tree is only as deep as the source's bracket and
//! parenthesis nesting (which the parser caps) and evaluating or dropping it
//! cannot overflow the stack.

use super::{Reference, Value};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    /// Byte offset in the whole source where the node starts, for references.
    pub start: usize,
}

impl Node {
    /// Appends every path and secret this node reads, nested ones included.
    /// A path with a computed segment contributes its fixed prefix.
    pub fn references(&self, out: &mut Vec<Reference>) {
        match &self.kind {
            Kind::Literal(_) => {}
            Kind::Path(segments) => {
                let mut prefix = Vec::new();
                let mut fixed = true;
                for segment in segments {
                    match segment {
                        Segment::Name(name) if fixed => prefix.push(name.clone()),
                        Segment::Name(_) => {}
                        Segment::Computed(node) => {
                            fixed = false;
                            node.references(out);
                        }
                    }
                }
                out.push(Reference::Path {
                    segments: prefix,
                    offset: self.start,
                });
            }
            Kind::Secret(id) => {
                let literal = match &id.kind {
                    Kind::Literal(v @ (Value::String(_) | Value::Number(_))) => Some(v.to_string()),
                    _ => None,
                };
                out.push(Reference::Secret {
                    id: literal,
                    offset: self.start,
                });
                id.references(out);
            }
            Kind::Postfix(base, ops) => {
                base.references(out);
                for op in ops {
                    match op {
                        PostOp::Member(_) => {}
                        PostOp::Index(node) => node.references(out),
                        PostOp::Call(_, args) => args.iter().for_each(|a| a.references(out)),
                    }
                }
            }
            Kind::Unary(_, operand) => operand.references(out),
            Kind::Chain(first, rest) => {
                first.references(out);
                rest.iter().for_each(|(_, node)| node.references(out));
            }
            Kind::Ternary(cond, then, other) => {
                cond.references(out);
                then.references(out);
                other.references(out);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Literal(Value),
    /// A dotted path resolved through `Scope::lookup`.
    Path(Vec<Segment>),
    /// `secrets.getValue(id)`.
    Secret(Box<Node>),
    /// Member access, indexing and method calls applied in order.
    Postfix(Box<Node>, Vec<PostOp>),
    Unary(UnaryOp, Box<Node>),
    /// `first op rhs op rhs ...`, all operators of one precedence level,
    /// applied left to right.
    Chain(Box<Node>, Vec<(BinOp, Node)>),
    Ternary(Box<Node>, Box<Node>, Box<Node>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// `.name`, `["name"]` or `[0]`.
    Name(String),
    /// `[expr]` or `.<+expr>`: the key is known only at run time.
    Computed(Node),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PostOp {
    Member(String),
    Index(Node),
    Call(Method, Vec<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }
}

/// The methods values have. Checked at parse time so a misspelt method is
/// a validation error, not a run-time one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Concat,
    Contains,
    StartsWith,
    EndsWith,
    Split,
    Length,
    Size,
    ToLowerCase,
    ToUpperCase,
    Trim,
    Replace,
    Substring,
    IndexOf,
    LastIndexOf,
    Equals,
    EqualsIgnoreCase,
    IsEmpty,
    ToString,
}

impl Method {
    pub const ALL: [Method; 18] = [
        Method::Concat,
        Method::Contains,
        Method::StartsWith,
        Method::EndsWith,
        Method::Split,
        Method::Length,
        Method::Size,
        Method::ToLowerCase,
        Method::ToUpperCase,
        Method::Trim,
        Method::Replace,
        Method::Substring,
        Method::IndexOf,
        Method::LastIndexOf,
        Method::Equals,
        Method::EqualsIgnoreCase,
        Method::IsEmpty,
        Method::ToString,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Concat => "concat",
            Method::Contains => "contains",
            Method::StartsWith => "startsWith",
            Method::EndsWith => "endsWith",
            Method::Split => "split",
            Method::Length => "length",
            Method::Size => "size",
            Method::ToLowerCase => "toLowerCase",
            Method::ToUpperCase => "toUpperCase",
            Method::Trim => "trim",
            Method::Replace => "replace",
            Method::Substring => "substring",
            Method::IndexOf => "indexOf",
            Method::LastIndexOf => "lastIndexOf",
            Method::Equals => "equals",
            Method::EqualsIgnoreCase => "equalsIgnoreCase",
            Method::IsEmpty => "isEmpty",
            Method::ToString => "toString",
        }
    }

    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// How many arguments the method takes, as (min, max).
    pub fn arity(self) -> (usize, usize) {
        match self {
            Method::Concat => (1, usize::MAX),
            Method::Length
            | Method::Size
            | Method::ToLowerCase
            | Method::ToUpperCase
            | Method::Trim
            | Method::IsEmpty
            | Method::ToString => (0, 0),
            Method::Replace => (2, 2),
            Method::Substring => (1, 2),
            Method::Contains
            | Method::StartsWith
            | Method::EndsWith
            | Method::Split
            | Method::IndexOf
            | Method::LastIndexOf
            | Method::Equals
            | Method::EqualsIgnoreCase => (1, 1),
        }
    }
}
