//! Plain text tables laid out by display width, so that Arabic outlet
//! names, combining marks and long paths line up in a terminal (`{:<24}`
//! pads by characters, not by the columns a terminal gives them).

use std::borrow::Cow;

use unicode_width::UnicodeWidthStr;

/// Text from an export or a store as it may reach a terminal: control
/// characters (escape sequences that move the cursor, recolour or retitle
/// the terminal) and bidirectional controls (which reorder what follows
/// them, so that figures beside a name read reversed) are shown as `\u{…}`
/// escapes; everything else is left as it is.
pub fn shown(s: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A table of text cells: a header row, then rows; columns separated by two
/// spaces, left-aligned unless marked right-aligned; the last column is
/// not padded.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    right: Vec<bool>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            right: vec![false; header.len()],
        }
    }

    /// Aligns column `i` to the right (numbers).
    pub fn right(&mut self, i: usize) -> &mut Self {
        if let Some(r) = self.right.get_mut(i) {
            *r = true;
        }
        self
    }

    /// Adds a row; its cells are [`shown`] safely.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|c| shown(&c).into_owned()).collect());
    }

    /// The table's lines.
    pub fn lines(&self) -> Vec<String> {
        let n = self.header.len();
        let mut widths = vec![0usize; n];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.width());
            }
        }
        std::iter::once(&self.header)
            .chain(&self.rows)
            .map(|row| {
                let mut line = String::new();
                for (i, c) in row.iter().enumerate().take(n) {
                    if i > 0 {
                        line.push_str("  ");
                    }
                    let pad = widths[i].saturating_sub(c.width());
                    if self.right[i] {
                        line.extend(std::iter::repeat_n(' ', pad));
                        line.push_str(c);
                    } else {
                        line.push_str(c);
                        if i + 1 < n {
                            line.extend(std::iter::repeat_n(' ', pad));
                        }
                    }
                }
                line.trim_end().to_owned()
            })
            .collect()
    }

    pub fn print(&self) {
        for l in self.lines() {
            println!("{l}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_shown_not_obeyed() {
        assert_eq!(shown("Gazette مكتب"), "Gazette مكتب");
        assert_eq!(shown("a\u{1b}[2Jb"), "a\\u{001b}[2Jb");
        assert_eq!(shown("x\u{202E}cba"), "x\\u{202e}cba");
        assert_eq!(shown("\u{2067}n\u{2069}"), "\\u{2067}n\\u{2069}");
        let mut t = Table::new(&["name"]);
        t.row(vec!["evil\u{7}\u{1b}]0;title\u{7}".to_owned()]);
        assert!(!t.lines().concat().chars().any(|c| c.is_control()), "{:?}", t.lines());
    }

    #[test]
    fn columns_line_up_by_display_width() {
        let mut t = Table::new(&["name", "n", "note"]);
        t.right(1);
        t.row(vec!["مكتب المثال".to_owned(), "7".to_owned(), "a".to_owned()]);
        t.row(vec!["Gazette".to_owned(), "12".to_owned(), "b".to_owned()]);
        // A wide (CJK) name takes two columns per character.
        t.row(vec!["報道".to_owned(), "3".to_owned(), "c".to_owned()]);
        let lines = t.lines();
        let col = |l: &str| {
            let (before, _) = l.rsplit_once(' ').unwrap_or((l, ""));
            before.width()
        };
        let first = col(&lines[0]);
        for l in &lines {
            assert_eq!(col(l), first, "{lines:#?}");
        }
        assert_eq!(lines[2], "Gazette      12  b", "{lines:#?}");
        assert!(lines[1].contains("   7  a"), "{lines:#?}");
    }
}
