"""The HTML shell shared by the run and sweep pages: inline CSS, the inline script, small widgets.

Pages are single files that work offline and without JavaScript: styles and plots are inline,
nothing is fetched. The script only adds column sorting; it marks ``<html data-rendered="ok">``
when it ran cleanly and ``"error"`` if any script error happened, which the browser test reads.
"""

from __future__ import annotations

from html import escape

CSS = """
:root { --ink:#1f2328; --muted:#57606a; --line:#d0d7de; --soft:#f6f8fa; --ok:#116329;
  --ok-bg:#dafbe1; --bad:#a40e26; --bad-bg:#ffebe9; --warn:#7d4e00; --warn-bg:#fff8c5; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 2px; }
h2 { font-size: 18px; margin: 34px 0 4px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 0 0 6px; }
p.lead { color: var(--muted); margin: 0 0 4px; }
p.note { color: var(--muted); margin: 2px 0 10px; font-size: 13px; }
code, pre { font-family: "DejaVu Sans Mono", ui-monospace, SFMono-Regular, Menlo, monospace;
  font-size: 13px; }
.meta { color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 6px 0 0; }
.meta b { color: var(--ink); }
.banner { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr));
  gap: 10px; margin: 12px 0 8px; }
.card { border-radius: 8px; padding: 10px 14px; border: 1px solid var(--line);
  background: var(--soft); }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
.card .value { font-size: 22px; font-weight: 700; }
.card .sub { font-size: 12px; color: var(--muted); }
.card.ok { background: var(--ok-bg); border-color: #aceebb; }
.card.ok .value { color: var(--ok); }
.card.bad { background: var(--bad-bg); border-color: #ffcecb; }
.card.bad .value { color: var(--bad); }
.card.warn { background: var(--warn-bg); border-color: #f5e0a0; }
.card.warn .value { color: var(--warn); }
.overall { font-size: 15px; font-weight: 700; padding: 8px 14px; border-radius: 8px;
  margin-top: 16px; }
.overall.ok { background: var(--ok); color: #fff; }
.overall.bad { background: var(--bad); color: #fff; }
ul.expectations { list-style: none; padding: 0; margin: 8px 0; columns: 2; column-gap: 32px; }
ul.expectations li { padding: 3px 0; break-inside: avoid; }
.mark { display: inline-block; width: 1.3em; font-weight: 700; }
.pass .mark { color: var(--ok); }
.fail .mark { color: var(--bad); }
.fail { font-weight: 600; }
.detail { color: var(--muted); font-weight: 400; }
.violation { border: 2px solid var(--bad); background: var(--bad-bg); border-radius: 8px;
  padding: 10px 16px; margin: 14px 0; }
.violation pre { background: #fff; border: 1px solid #ffcecb; padding: 10px; overflow-x: auto;
  margin: 8px 0 2px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 32px; }
@media (max-width: 980px) {
  .grid { grid-template-columns: 1fr; }
  ul.expectations { columns: 1; }
}
svg.plot { width: 100%; height: auto; display: block; overflow: visible; }
svg.tally { width: 168px; height: 16px; display: block; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eaeef2;
  vertical-align: middle; }
th { background: var(--soft); font-weight: 600; position: sticky; top: 0; }
th[data-sort] { cursor: pointer; }
th[aria-sort="ascending"]::after { content: " ▲"; }
th[aria-sort="descending"]::after { content: " ▼"; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.flipped td { background: #fff1e5; }
tr.flipped td:first-child { box-shadow: inset 4px 0 0 #D55E00; }
tr.beyond td { background: #fdf3f2; }
.motion-id { font-weight: 700; white-space: nowrap; }
.sub { color: var(--muted); font-size: 12px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px;
  font-weight: 600; white-space: nowrap; }
.adopted { background: var(--ok-bg); color: var(--ok); }
.rejected { background: var(--bad-bg); color: var(--bad); }
.lapsed { background: var(--warn-bg); color: var(--warn); }
.undecided { background: #eaeef2; color: #424a53; }
.flip { background: #D55E00; color: #fff; }
.counts { color: var(--muted); font-size: 12px; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin: 0 4px 0 10px; vertical-align: -1px; }
.track { display: inline-block; width: 120px; height: 10px; border-radius: 2px;
  background: #eaeef2; vertical-align: middle; margin-right: 8px; overflow: hidden; }
.track span { display: block; height: 100%; }
.pct { display: inline-block; min-width: 3.2em; text-align: right; }
.replay { background: #0d1117; color: #e6edf3; padding: 10px 14px; border-radius: 8px;
  overflow-x: auto; }
footer { color: var(--muted); font-size: 12px; margin-top: 36px; }
"""

# Runs first, in <head>, so an error anywhere later on the page is recorded.
ERROR_HOOK = (
    "window.onerror=function(){document.documentElement.setAttribute('data-rendered','error');};"
)

# Click a column header with data-sort to sort its table; cells may carry data-value.
SCRIPT = """
(function () {
  var root = document.documentElement;
  function key(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell.getAttribute('data-value');
    if (raw === null) { raw = cell.textContent.trim(); }
    return numeric ? parseFloat(raw) : raw.toLowerCase();
  }
  document.querySelectorAll('th[data-sort]').forEach(function (header) {
    header.setAttribute('tabindex', '0');
    header.addEventListener('click', function () {
      var table = header.closest('table'), body = table.tBodies[0];
      var index = Array.prototype.indexOf.call(header.parentNode.children, header);
      var numeric = header.getAttribute('data-sort') === 'number';
      var ascending = header.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
      header.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, index, numeric), y = key(b, index, numeric);
        if (numeric) { x = isNaN(x) ? Infinity : x; y = isNaN(y) ? Infinity : y; }
        return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
  if (root.getAttribute('data-rendered') !== 'error') { root.setAttribute('data-rendered', 'ok'); }
})();
"""


def document(title: str, body: str) -> str:
    """A complete self-contained HTML page around ``body`` (``title`` is escaped here)."""
    return (
        '<!DOCTYPE html>\n<html lang="en" data-rendered="pending">\n'
        '<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n<script>{ERROR_HOOK}</script>\n"
        f"</head>\n<body>\n<main>\n{body}\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def card(label: str, value: str, tone: str, sub: str = "") -> str:
    """One verdict card of the banner; ``tone`` is ok, bad, warn or empty."""
    extra = f'<div class="sub">{escape(sub)}</div>' if sub else ""
    return (
        f'<div class="card {escape(tone)}"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div>{extra}</div>'
    )


def section(heading: str, content: str, *, note: str = "", section_id: str = "") -> str:
    """An ``<h2>`` section with an optional one-line explanation under the heading."""
    ident = f' id="{escape(section_id)}"' if section_id else ""
    explanation = f'<p class="note">{escape(note)}</p>' if note else ""
    return f"<section{ident}><h2>{escape(heading)}</h2>{explanation}{content}</section>"
