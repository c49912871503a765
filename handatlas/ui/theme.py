"""The page's look for keyboards and phones: a design that adds one stylesheet to every component.

Panel draws each component in its own shadow root, where the page's CSS does not reach; a
:class:`panel.theme.Design` gives every component the same extra stylesheet instead.  It adds:

- a focus ring a keyboard user can see on white and on the blue buttons alike: 3 px of
  :data:`FOCUS_HEX` (11.9:1 on white; Bokeh's own ring was 1 px dotted #BBBBBD, 1.9:1) outside a 2 px
  white gap that keeps it off coloured buttons (WCAG 2.2: 2.4.7, 2.4.11, 1.4.11);
  a mouse click draws no ring (``:focus-visible``);
- on narrow screens (phones), touch targets at least 44 px high (WCAG 2.5.5; 2.5.8 asks 24 px);
- option labels that wrap instead of running off a narrow screen.

Everything else is Panel's default (native) design, served by this server: no web fonts.
"""

from __future__ import annotations

from typing import Any, ClassVar

from panel.theme import Native
from panel.theme.base import Inherit
from panel.viewable import Viewable

#: The focus ring's colour (dark blue: 11.9:1 on white; the white gap around a button keeps it apart).
FOCUS_HEX = "#0b2e8a"
#: The narrowest touch target on a phone (px).
TOUCH_PX = 44
#: Screens at most this wide (px) get the phone layout.
PHONE_MAX_PX = 600

PAGE_CSS = f"""
:focus-visible, :host(:focus-visible) {{
  outline: 3px solid {FOCUS_HEX} !important;
  outline-offset: 2px !important;
  box-shadow: 0 0 0 2px #fff !important;
}}
:focus:not(:focus-visible) {{ outline: none; }}
.bk-input-group label {{ white-space: normal; overflow-wrap: anywhere; max-width: 100%; }}
.bk-btn:focus-visible {{ z-index: 2; position: relative; }}
@media (max-width: {PHONE_MAX_PX}px) {{
  .bk-btn, .bk-input, select, .choices__inner, textarea {{ min-height: {TOUCH_PX}px; }}
  input[type="text"], input[type="password"], input[type="search"] {{ min-height: {TOUCH_PX}px; }}
  label:has(> input[type="checkbox"]), label:has(> input[type="radio"]) {{
    min-height: {TOUCH_PX}px; display: flex; align-items: center; gap: 8px;
  }}
  input[type="checkbox"], input[type="radio"] {{ width: 22px; height: 22px; }}
}}
"""


class Accessible(Native):
    """Panel's native design plus :data:`PAGE_CSS` in every component."""

    modifiers: ClassVar[dict[type, dict[str, Any]]] = {Viewable: {"stylesheets": [Inherit, PAGE_CSS]}}
