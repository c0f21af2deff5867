"""Layout faults a reader sees and a readout test cannot: a legend box drawn over a plotted glyph, and a legend
entry with nothing drawn for it.

Both are read off the rendered page. `legend_faults(page)` asks BokehJS for every visible legend's box and the
plotting frame of its figure. Where the two meet, the legend (and the grid, drawn under everything) is hidden,
the page is redrawn and that rectangle is photographed: any pixel there that is not the frame's white is a glyph
the legend was covering. An entry is empty when none of its renderers is visible with at least one data point.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

#: A pixel this far from white (in any channel, of 255) is drawn; anti-aliased edges of glyphs reach far beyond.
INK = 40

_LEGENDS_JS = """
(() => {
  const out = [];
  const walk = (v) => {
    if (v.model && v.model.type === 'Figure' && v.renderer_views) {
      const at = v.el.getBoundingClientRect(), f = v.frame.bbox;
      for (const r of v.renderer_views.values()) {
        if (r.model.type !== 'Legend' || !r.model.visible) continue;
        const items = r.model.items.filter((it) => it.visible).map((it) => ({
          label: it.label && it.label.value !== undefined ? String(it.label.value) : String(it.label),
          drawn: it.renderers.some((g) => g.visible && g.data_source && g.data_source.get_length() > 0),
        }));
        out.push({figure: v.model.id, title: v.model.title ? v.model.title.text : '', items,
                  legend: [at.x + r.bbox.x, at.y + r.bbox.y, r.bbox.width, r.bbox.height],
                  frame: [at.x + f.x, at.y + f.y, f.width, f.height]});
      }
    }
    for (const c of (v.child_views ?? [])) walk(c);
  };
  for (const root of Object.values(Bokeh.index)) walk(root);
  return out;
})()
"""

_SHOW_JS = """
([id, show]) => {
  const fig = Bokeh.documents[0].get_model_by_id(id);
  for (const a of fig.center) if (a.type === 'Legend' || a.type === 'Grid') a.visible = show;
  for (const a of [...fig.below, ...fig.above, ...fig.left, ...fig.right])
    if (a.type === 'Legend') a.visible = show;
}
"""


def _meet(a: list[float], b: list[float]) -> list[float] | None:
    """The intersection of two (x, y, width, height) boxes, or None."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    return [x0, y0, x1 - x0, y1 - y0] if x1 - x0 >= 1 and y1 - y0 >= 1 else None


def legend_faults(page) -> list[str]:
    """Every legend over a drawn glyph and every legend entry with nothing drawn, on the page as it stands."""
    faults = []
    for leg in page.evaluate(_LEGENDS_JS):
        where = f"figure {leg['title']!r}"
        faults += [f"{where}: legend entry {it['label']!r} has nothing drawn" for it in leg["items"] if not it["drawn"]]
        box = _meet(leg["legend"], leg["frame"])
        if box is None:
            continue
        page.evaluate(_SHOW_JS, [leg["figure"], False])
        page.wait_for_timeout(150)
        clip = dict(x=box[0] + 1, y=box[1] + 1, width=max(box[2] - 2, 1), height=max(box[3] - 2, 1))
        pixels = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"), dtype=int)
        page.evaluate(_SHOW_JS, [leg["figure"], True])
        page.wait_for_timeout(150)
        ink = int((np.abs(pixels - 255).max(axis=-1) > INK).sum())
        if ink:
            faults.append(f"{where}: its legend covers {ink} drawn pixels")
    return faults
