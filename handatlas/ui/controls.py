"""Controls that screen readers can name: a native range slider and a labelled tick box.

Panel's sliders (noUiSlider) draw a ``div`` handle that screen readers cannot name (axe:
``aria-input-field-name``) and that is 14 px high on a phone.  The browser's own range input
is named by its label, works with the arrow, Page and Home/End keys, and is as tall as a
finger (44 px).  :func:`range_for` ties one to a numeric parameter both ways.

Bokeh's single ``Checkbox`` puts its text beside the box, not in a ``<label>`` (axe:
``label``); a check group of one option wraps the box in its label: :func:`tick_box`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import panel as pn
import param
from panel.custom import JSComponent

from handatlas.ui.theme import FOCUS_HEX, TOUCH_PX

_ESM = """
export function render({ model, el }) {
  const label = document.createElement("label");
  const text = document.createElement("span");
  text.className = "range-text";
  const input = document.createElement("input");
  input.type = "range";
  function shown() {
    const digits = model.step < 1 ? Math.max(0, -Math.floor(Math.log10(model.step))) : 0;
    const v = Number(model.value).toFixed(digits);
    text.textContent = model.show_label ? `${model.label}: ${v}` : "";
    input.setAttribute("aria-label", model.label);
    input.setAttribute("aria-valuetext", v);
    label.className = model.show_label ? "" : "bare";
  }
  function sync() {
    input.min = model.start; input.max = model.end; input.step = model.step;
    input.value = model.value; shown();
  }
  input.addEventListener("input", () => { model.value = Number(input.value); shown(); });
  for (const p of ["value", "start", "end", "step", "label", "show_label"]) model.on(p, sync);
  sync();
  label.append(text, input);
  return label;
}
"""

_CSS = f"""
label {{ display: flex; flex-direction: column; font-size: 0.92em; color: #222; width: 100%; }}
label.bare {{ flex-direction: row; }}
input[type="range"] {{ width: 100%; min-height: 32px; margin: 0; accent-color: #0a5a8c; cursor: pointer; }}
input[type="range"]:focus-visible {{ outline: 3px solid {FOCUS_HEX}; outline-offset: 2px; }}
@media (pointer: coarse), (max-width: 600px) {{ input[type="range"] {{ min-height: {TOUCH_PX}px; }} }}
"""


class RangeInput(JSComponent):
    """A labelled native range slider; ``value`` follows the learner's dragging or keys."""

    value = param.Number(default=0.0, doc="The value shown and set.")
    start = param.Number(default=0.0)
    end = param.Number(default=1.0)
    step = param.Number(default=0.1)
    label = param.String(default="", doc="Its name (read by screen readers; shown unless show_label is off).")
    show_label = param.Boolean(default=True, doc="Show the name and value above the slider.")

    _esm = _ESM
    _stylesheets: ClassVar[list[str]] = [_CSS]


def range_for(owner: param.Parameterized, name: str, *, label: str, step: float, **params: Any) -> RangeInput:
    """A :class:`RangeInput` over the bounded numeric parameter ``owner.<name>``, kept in step both ways.

    Examples
    --------
    >>> class Press(param.Parameterized):
    ...     radius = param.Number(default=8.0, bounds=(2.0, 20.0))
    >>> press = Press()
    >>> slider = range_for(press, "radius", label="Contact radius (mm)", step=1.0)
    >>> slider.value = 12.0
    >>> press.radius
    12.0
    """
    p = owner.param[name]
    start, end = p.bounds
    cast = int if isinstance(p, param.Integer) else float
    widget = RangeInput(value=getattr(owner, name), start=start, end=end, step=step, label=label, **params)
    widget.param.watch(lambda e: setattr(owner, name, cast(e.new)), "value")
    owner.param.watch(lambda e: setattr(widget, "value", e.new), name)
    return widget


def tick_box(label: str, *, value: bool, **params: Any) -> pn.widgets.CheckBoxGroup:
    """A tick box named by its visible ``label``: ticked when its value is ``[label]``, else ``[]``.

    Examples
    --------
    >>> box = tick_box("Skin", value=True)
    >>> box.value
    ['Skin']
    """
    return pn.widgets.CheckBoxGroup(options=[label], value=[label] if value else [], inline=True, **params)


def tick_for(owner: param.Parameterized, name: str, *, label: str, **params: Any) -> pn.widgets.CheckBoxGroup:
    """A :func:`tick_box` over the boolean parameter ``owner.<name>``, kept in step both ways."""
    box = tick_box(label, value=bool(getattr(owner, name)), **params)
    box.param.watch(lambda e: setattr(owner, name, bool(e.new)), "value")
    owner.param.watch(lambda e: setattr(box, "value", [label] if e.new else []), name)
    return box
