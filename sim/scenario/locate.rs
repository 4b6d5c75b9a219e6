//! From byte offsets to line:column, and from key paths to places in the
//! file, using toml_edit's spans.

use std::ops::Range;

use toml_edit::{Array, ArrayOfTables, Document, InlineTable, Item, Table, Value};

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Splits `cohorts[0].client.renewal` into steps.
pub fn parse_path(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').unwrap_or(inner.len());
            if let Ok(n) = inner[..end].parse() {
                steps.push(Step::Index(n));
            }
            rest = inner.get(end + 1..).unwrap_or("");
        }
    }
    steps
}

/// Joins steps back into the `a.b[0].c` form used in messages.
pub fn format_path(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A node of the document while walking a path.
#[derive(Clone, Copy)]
enum Node<'d> {
    Table(&'d Table),
    Inline(&'d InlineTable),
    Array(&'d Array),
    Tables(&'d ArrayOfTables),
    Leaf,
}

fn node_of_item(item: &Item) -> Node<'_> {
    match item {
        Item::Table(t) => Node::Table(t),
        Item::ArrayOfTables(a) => Node::Tables(a),
        Item::Value(v) => node_of_value(v),
        Item::None => Node::Leaf,
    }
}

fn node_of_value(value: &Value) -> Node<'_> {
    match value {
        Value::InlineTable(t) => Node::Inline(t),
        Value::Array(a) => Node::Array(a),
        _ => Node::Leaf,
    }
}

/// The child at `step` and the span that best names it.
fn child<'d>(node: Node<'d>, step: &Step) -> Option<(Node<'d>, Option<Range<usize>>)> {
    match (node, step) {
        (Node::Table(t), Step::Key(k)) => {
            let (key, item) = t.get_key_value(k)?;
            Some((node_of_item(item), key.span()))
        }
        (Node::Inline(t), Step::Key(k)) => {
            let (key, value) = t.get_key_value(k)?;
            Some((node_of_item(value), key.span()))
        }
        (Node::Tables(a), Step::Index(i)) => {
            let t = a.get(*i)?;
            Some((Node::Table(t), t.span()))
        }
        (Node::Array(a), Step::Index(i)) => {
            let v = a.get(*i)?;
            Some((node_of_value(v), v.span()))
        }
        _ => None,
    }
}

/// A parsed document kept for locating keys in error messages.
pub struct SourceMap<'a> {
    text: &'a str,
    doc: Option<Document<&'a str>>,
}

impl<'a> SourceMap<'a> {
    pub fn new(text: &'a str) -> Self {
        SourceMap {
            text,
            doc: Document::parse(text).ok(),
        }
    }

    /// Where the deepest existing key of `path` is written (1-based).
    pub fn position_of(&self, path: &str) -> Option<(usize, usize)> {
        let doc = self.doc.as_ref()?;
        let mut node = Node::Table(doc.as_table());
        let mut best = None;
        for step in parse_path(path) {
            let Some((next, span)) = child(node, &step) else {
                break;
            };
            best = span.or(best);
            node = next;
        }
        best.map(|span| line_col(self.text, span.start))
    }

    /// The parsed document, if the text is valid TOML.
    pub fn document(&self) -> Option<&Document<&'a str>> {
        self.doc.as_ref()
    }

    /// Whether the text is valid TOML (otherwise nothing can be located by path).
    pub fn is_parsed(&self) -> bool {
        self.doc.is_some()
    }

    /// The first key named `name` (in file order) inside the value at
    /// `path`: its full key path and where it is written.
    pub fn find_key_under(&self, path: &str, name: &str) -> Option<(String, (usize, usize))> {
        self.search_under(path, &mut |steps, key, _| {
            matches!(steps.last(), Some(Step::Key(k)) if k == name) && key.is_some()
        })
    }

    /// The first leaf value inside the value at `path` (or that value itself)
    /// for which `wanted` holds: its key path and where it is written.
    pub fn find_value_under(
        &self,
        path: &str,
        wanted: &dyn Fn(&Value) -> bool,
    ) -> Option<(String, (usize, usize))> {
        self.search_under(path, &mut |_, _, value| value.is_some_and(wanted))
    }

    fn search_under(&self, path: &str, hit: &mut Hit<'_>) -> Option<(String, (usize, usize))> {
        let doc = self.doc.as_ref()?;
        let mut steps = parse_path(path);
        let mut at = At::Table(doc.as_table());
        for step in &steps {
            at = match (at, step) {
                (At::Table(t), Step::Key(k)) => At::of_item(t.get(k)?),
                (At::Value(Value::InlineTable(t)), Step::Key(k)) => At::Value(t.get(k)?),
                (At::Tables(a), Step::Index(i)) => At::Table(a.get(*i)?),
                (At::Value(Value::Array(a)), Step::Index(i)) => At::Value(a.get(*i)?),
                _ => return None,
            };
        }
        let (path, span) = search(at, &mut steps, None, hit)?;
        Some((path, line_col(self.text, span.start)))
    }

    /// The key path of the innermost key whose value contains `offset`.
    pub fn path_at(&self, offset: usize) -> Option<String> {
        let doc = self.doc.as_ref()?;
        let mut steps = Vec::new();
        walk_to(Node::Table(doc.as_table()), offset, &mut steps);
        (!steps.is_empty()).then(|| format_path(&steps))
    }
}

/// Whether a place (its key path, key span, value if a value) is wanted.
type Hit<'h> = dyn FnMut(&[Step], Option<Range<usize>>, Option<&Value>) -> bool + 'h;

/// A place in the document while searching a subtree.
#[derive(Clone, Copy)]
enum At<'d> {
    Table(&'d Table),
    Tables(&'d ArrayOfTables),
    Value(&'d Value),
    None,
}

impl<'d> At<'d> {
    fn of_item(item: &'d Item) -> Self {
        match item {
            Item::Table(t) => At::Table(t),
            Item::ArrayOfTables(a) => At::Tables(a),
            Item::Value(v) => At::Value(v),
            Item::None => At::None,
        }
    }
}

/// Depth-first, in file order: the first place where `hit` holds, with its
/// key path and the span of its key (or of its value, in arrays).
fn search(
    at: At<'_>,
    steps: &mut Vec<Step>,
    key_span: Option<Range<usize>>,
    hit: &mut Hit<'_>,
) -> Option<(String, Range<usize>)> {
    let value = match at {
        At::Value(v) => Some(v),
        _ => None,
    };
    if hit(steps, key_span.clone(), value) {
        let span = key_span.or_else(|| value.and_then(Value::span))?;
        return Some((format_path(steps), span));
    }
    let mut visit = |steps: &mut Vec<Step>, step: Step, child: At<'_>, span| {
        steps.push(step);
        let found = search(child, steps, span, hit);
        steps.pop();
        found
    };
    match at {
        At::Table(t) => t.iter().find_map(|(k, item)| {
            let span = t.key(k).and_then(|key| key.span());
            visit(steps, Step::Key(k.to_string()), At::of_item(item), span)
        }),
        At::Tables(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, t)| visit(steps, Step::Index(i), At::Table(t), t.span())),
        At::Value(Value::InlineTable(t)) => t.iter().find_map(|(k, v)| {
            let span = t.key(k).and_then(|key| key.span());
            visit(steps, Step::Key(k.to_string()), At::Value(v), span)
        }),
        At::Value(Value::Array(a)) => a
            .iter()
            .enumerate()
            .find_map(|(i, v)| visit(steps, Step::Index(i), At::Value(v), v.span())),
        _ => None,
    }
}

/// Descends into whichever child's span contains `offset`.
fn walk_to(node: Node<'_>, offset: usize, steps: &mut Vec<Step>) {
    let contains = |span: Option<Range<usize>>| {
        span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
    };
    match node {
        Node::Table(t) => {
            for (k, item) in t.iter() {
                let key_span = t.key(k).and_then(|key| key.span());
                let value_span = match item {
                    Item::Value(v) => v.span(),
                    Item::Table(tt) => tt.span(),
                    _ => None,
                };
                if contains(key_span.clone()) || contains(value_span) {
                    steps.push(Step::Key(k.to_string()));
                    walk_to(node_of_item(item), offset, steps);
                    return;
                }
                if let Item::ArrayOfTables(a) = item {
                    for (i, tt) in a.iter().enumerate() {
                        if tt.span().is_some_and(|s| s.start <= offset)
                            && tables_body_contains(tt, offset)
                        {
                            steps.push(Step::Key(k.to_string()));
                            steps.push(Step::Index(i));
                            walk_to(Node::Table(tt), offset, steps);
                            return;
                        }
                    }
                }
                if let Item::Table(tt) = item {
                    if tables_body_contains(tt, offset) {
                        steps.push(Step::Key(k.to_string()));
                        walk_to(Node::Table(tt), offset, steps);
                        return;
                    }
                }
            }
        }
        Node::Inline(t) => {
            for (k, v) in t.iter() {
                let key_span = t.key(k).and_then(|key| key.span());
                if contains(key_span) || contains(v.span()) {
                    steps.push(Step::Key(k.to_string()));
                    walk_to(node_of_value(v), offset, steps);
                    return;
                }
            }
        }
        Node::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                if contains(v.span()) {
                    steps.push(Step::Index(i));
                    walk_to(node_of_value(v), offset, steps);
                    return;
                }
            }
        }
        Node::Tables(_) | Node::Leaf => {}
    }
}

/// Whether any key or value of a [table] section contains `offset`.
fn tables_body_contains(t: &Table, offset: usize) -> bool {
    let header = t
        .span()
        .is_some_and(|s| s.start <= offset && offset < s.end);
    header
        || t.iter().any(|(k, item)| {
            let key = t.key(k).and_then(|key| key.span());
            let value = match item {
                Item::Value(v) => v.span(),
                Item::Table(tt) => return tables_body_contains(tt, offset),
                Item::ArrayOfTables(a) => {
                    return a.iter().any(|tt| tables_body_contains(tt, offset))
                }
                Item::None => None,
            };
            [key, value]
                .into_iter()
                .flatten()
                .any(|s| s.start <= offset && offset < s.end.max(s.start + 1))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name = \"x\"\n\n[[cohorts]]\nname = \"a\"\n[cohorts.client]\nrenewal = { rule = \"before_expiry\", window = \"41d\" }\n";

    #[test]
    fn paths_round_trip() {
        let steps = parse_path("cohorts[0].client.renewal.window");
        assert_eq!(steps.len(), 5);
        assert_eq!(format_path(&steps), "cohorts[0].client.renewal.window");
    }

    #[test]
    fn finds_keys_in_tables_arrays_and_inline_tables() {
        let map = SourceMap::new(DOC);
        assert_eq!(map.position_of("name"), Some((1, 1)));
        assert_eq!(map.position_of("cohorts[0].name"), Some((4, 1)));
        assert_eq!(
            map.position_of("cohorts[0].client.renewal.window"),
            Some((6, 37))
        );
        let offset = DOC.find("41d").unwrap();
        assert_eq!(
            map.path_at(offset).as_deref(),
            Some("cohorts[0].client.renewal.window")
        );
    }
}
