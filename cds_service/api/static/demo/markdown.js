// A tiny markdown renderer for card `detail`, written by hand because the page loads nothing from a CDN
// (there is no network here, and a demo page should not vendor a markdown library).
//
// It covers what our cards use: paragraphs, `- ` lists (with lazy continuation lines), **bold**,
// <https://...> autolinks, [text](https://...) links, backslash escapes and HTML entity references. It is
// safe by construction: it builds DOM nodes and puts every piece of text in with createTextNode, never
// innerHTML, so HTML in a card is shown as text (the same effect as escaping HTML first). Links are made
// only to http(s) URLs; [text](javascript:...) and every other scheme stay text.
"use strict";

(function (global) {
  const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };
  const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;
  const AUTOLINK = /^<(https?:\/\/[^\s<>]+)>/;
  // [text](url) with an http(s) URL and no nested brackets in the text (what a card's evidence line uses).
  const INLINE_LINK = /^\[((?:[^\[\]\\]|\\.)+)\]\((https?:\/\/[^\s()<>]+)\)/;
  const ENTITY = /^&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/;

  // Return the index of the next `**` at or after `from` that is not escaped, or -1.
  function closingStrong(text, from) {
    for (let i = from; i < text.length - 1; i++) {
      if (text[i] === "\\") { i++; continue; }
      if (text[i] === "*" && text[i + 1] === "*") return i;
    }
    return -1;
  }

  function entity(match) {
    const name = match[1];
    let code = null;
    if (name[0] === "#") code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    if (code !== null) return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : "\ufffd";
    return Object.prototype.hasOwnProperty.call(ENTITIES, name) ? ENTITIES[name] : null;
  }

  function link(href, parent) {
    const a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    parent.appendChild(a);
    return a;
  }

  // Append the inline content of `text` to `parent`.
  function inline(text, parent) {
    let buffer = "";
    const flush = () => { if (buffer) { parent.appendChild(document.createTextNode(buffer)); buffer = ""; } };
    for (let i = 0; i < text.length; i++) {
      const rest = text.slice(i);
      const ch = text[i];
      if (ch === "\\" && i + 1 < text.length && PUNCTUATION.test(text[i + 1])) {
        buffer += text[i + 1]; i++; continue;
      }
      if (ch === "&") {
        const m = ENTITY.exec(rest);
        const decoded = m ? entity(m) : null;
        if (decoded !== null) { buffer += decoded; i += m[0].length - 1; continue; }
      }
      if (ch === "<") {
        const m = AUTOLINK.exec(rest);
        if (m) {
          flush();
          link(m[1], parent).textContent = m[1];
          i += m[0].length - 1;
          continue;
        }
      }
      if (ch === "[") {
        const m = INLINE_LINK.exec(rest);
        if (m) {
          flush();
          inline(m[1], link(m[2], parent));
          i += m[0].length - 1;
          continue;
        }
      }
      if (ch === "*" && text[i + 1] === "*") {
        const end = closingStrong(text, i + 2);
        if (end > i + 2) {
          flush();
          const strong = document.createElement("strong");
          inline(text.slice(i + 2, end), strong);
          parent.appendChild(strong);
          i = end + 1;
          continue;
        }
      }
      buffer += ch;
    }
    flush();
  }

  // Render `source` into a new <div class="markdown"> and return it.
  function render(source) {
    const root = document.createElement("div");
    root.className = "markdown";
    let paragraph = null; // lines of the open paragraph
    let list = null; // the open <ul>
    let item = null; // the open <li>'s text lines
    const closeParagraph = () => {
      if (paragraph) { const p = document.createElement("p"); inline(paragraph.join(" "), p); root.appendChild(p); }
      paragraph = null;
    };
    const closeItem = () => {
      if (item) { const li = document.createElement("li"); inline(item.join(" "), li); list.appendChild(li); }
      item = null;
    };
    const closeList = () => { closeItem(); list = null; };
    for (const raw of String(source || "").split(/\r\n|\r|\n/)) {
      const line = raw.trim();
      if (!line) { closeParagraph(); closeList(); continue; }
      const bullet = /^ {0,3}[-*+]\s+(.*)$/.exec(raw);
      if (bullet) {
        closeParagraph();
        if (!list) { list = document.createElement("ul"); root.appendChild(list); }
        closeItem();
        item = [bullet[1].trim()];
        continue;
      }
      if (item) { item.push(line); continue; } // a lazy continuation line belongs to the list item
      closeList();
      (paragraph = paragraph || []).push(line);
    }
    closeParagraph();
    closeList();
    return root;
  }

  global.CardMarkdown = { render };
})(window);
