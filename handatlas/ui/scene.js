// The 3D hand in the browser (handatlas.ui.scene.HandScene): draws the display meshes with the
// part of vtk.js it uses (vtk-hand.js, window.handatlasVtk) and sends the view ray of a click back
// to Python.
// Loaded by Panel as the component's ES module; the model's parameters are documented in scene.py.
// A press that moves no further than this (CSS px, squared) before its release is a click.
const DRAG_PX2 = 16;

function rgb(c) { return c.map((v) => Math.round(v * 255)); }

// The meshes' blob: a static file named by its content hash (the browser caches it for good),
// inflated as it arrives.
export async function fetchMeshes(url) {
  const resp = await fetch(url, { credentials: "same-origin" });
  if (!resp.ok) throw new Error(`the meshes could not be loaded (${resp.status} ${url})`);
  return new Response(resp.body.pipeThrough(new DecompressionStream("deflate"))).arrayBuffer();
}

function align4(n) { return Math.ceil(n / 4) * 4; }

// The inverse of display.py's _planes and _zigzag_deltas: n rows of `columns` values of `size`
// bytes stored as byte planes of zigzag-coded differences; returns the values row by row.
export function undelta(raw, offset, n, columns, size) {
  const bytes = new Uint8Array(raw, offset, n * columns * size);
  const out = size === 4 ? new Uint32Array(n * columns) : new Uint16Array(n * columns);
  const span = size === 4 ? 4294967296 : 65536;
  for (let c = 0; c < columns; c++) {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let k = size - 1; k >= 0; k--) z = z * 256 + bytes[(k * columns + c) * n + i];
      const d = z % 2 ? -(z + 1) / 2 : z / 2;
      acc = (acc + d + span) % span;
      out[i * columns + c] = acc;
    }
  }
  return out;
}

// Run fn once the browser has painted what just changed (a verdict's text shows before the
// 3D view is redrawn, which a software renderer may take a second over); calls coalesce.
function afterPaint(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => setTimeout(() => { queued = false; fn(); }, 0));
  };
}

export function render({ model, el }) {
  const vtk = window.handatlasVtk;
  const root = document.createElement("div");
  root.className = "hand-scene";
  root.style.cssText = "width:100%;height:100%;position:relative;min-height:240px";
  if (!vtk || !vtk.Rendering || !vtk.Rendering.Core) {
    root.textContent = "The 3D view could not start: vtk.js (vtk-hand.js) did not load.";
    return root;
  }
  const { vtkActor, vtkMapper } = vtk.Rendering.Core;
  const { vtkPolyData } = vtk.Common.DataModel;
  const { vtkDataArray } = vtk.Common.Core;
  const { vtkPolyDataNormals } = vtk.Filters.Core;
  const { vtkSphereSource } = vtk.Filters.Sources;
  const grw = vtk.Rendering.Misc.vtkGenericRenderWindow.newInstance({
    background: [1, 1, 1], listenWindowResize: false });
  const renderer = grw.getRenderer();
  const renderWindow = grw.getRenderWindow();
  const actors = {};          // structure id -> actor
  const base = {};            // structure id -> colour
  let transient = [];         // markers, path, extra
  let seq = 0;
  let built = false;

  function polyActor(points, faces, colour) {
    const pd = vtkPolyData.newInstance();
    pd.getPoints().setData(points, 3);
    const cells = new Uint32Array(faces.length / 3 * 4);
    for (let i = 0, j = 0; i < faces.length; i += 3, j += 4) {
      cells[j] = 3; cells[j + 1] = faces[i]; cells[j + 2] = faces[i + 1]; cells[j + 3] = faces[i + 2];
    }
    pd.getPolys().setData(cells);
    const normals = vtkPolyDataNormals.newInstance({ computeCellNormals: false });
    normals.setInputData(pd);
    const mapper = vtkMapper.newInstance({ scalarVisibility: false });
    mapper.setInputData(normals.getOutputData());
    const actor = vtkActor.newInstance();
    actor.setMapper(mapper);
    actor.getProperty().setColor(...colour);
    actor.getProperty().setInterpolationToPhong();
    actor.getProperty().setSpecular(0.15);
    return actor;
  }

  // The meshes come in parts (display.py): the first is fetched at once, while the page is still
  // being laid out, and drawn; each other part is fetched and drawn when one of its meshes is
  // first shown (or highlighted).
  const parts = {};           // url -> {data: Promise<ArrayBuffer>, state: "" | "building" | "built"}
  function part(p) {
    if (!parts[p.url]) parts[p.url] = { data: fetchMeshes(p.url), state: "" };
    return parts[p.url];
  }
  function partsOf() { return (model.meshes && model.meshes.parts) || []; }
  if (partsOf().length) part(partsOf()[0]);

  function decode(p, raw) {
    let offset = 0;
    for (const e of p.index) {
      const q = undelta(raw, offset, e.points, 3, 2);
      offset += align4(e.points * 3 * 2);
      const points = new Float32Array(e.points * 3);
      for (let i = 0; i < q.length; i++) points[i] = p.origin[i % 3] + q[i] * p.scale[i % 3];
      const n = e.triangles * 3;
      const faces = undelta(raw, offset, n, 1, e.wide ? 4 : 2);
      offset += align4(n * (e.wide ? 4 : 2));
      const actor = polyActor(points, faces, e.colour);
      actors[e.id] = actor; base[e.id] = e.colour;
      renderer.addActor(actor);
    }
    const skin = actors["skin"];  // the translucent skin stays the last actor drawn
    if (skin) { renderer.removeActor(skin); renderer.addActor(skin); }
  }

  async function buildPart(p) {
    const st = part(p);
    if (st.state) return false;
    st.state = "building";
    const raw = await st.data;
    performance.mark(`handatlas:fetched ${p.url}`);
    decode(p, raw);
    performance.mark(`handatlas:decoded ${p.url}`);
    st.state = "built";
    return true;
  }

  function wanted(p) {
    const layers = model.layers || {}, hl = model.highlight || {};
    return p.index.some((e) => (layers[e.id] || {}).visible || hl[e.id]);
  }

  // the parts not drawn yet that the page now shows
  function buildShown() {
    if (!built) return;
    for (const p of partsOf().slice(1)) {
      if (!(parts[p.url] && parts[p.url].state) && wanted(p)) {
        buildPart(p).then(() => applyAll()).catch((err) => {
          model.error = "The 3D view could not load more of the hand: " + err;
        });
      }
    }
  }

  async function build() {
    const first = partsOf()[0];
    if (!first || built || !(await buildPart(first))) return;
    built = true;
    applyAll({ draw: false });
    setView({ draw: false });
    renderWindow.render();  // the first picture: drawn once, with everything in place
    performance.mark("handatlas:drawn");
    root.dataset.ready = "1";
    model.ready = true;
    buildShown();
  }

  function applyLayers() {
    const hl = model.highlight || {};
    const fade = model.fade && Object.keys(hl).length > 0;
    for (const [id, actor] of Object.entries(actors)) {
      const st = (model.layers || {})[id] || {};
      const prop = actor.getProperty();
      let visible = st.visible !== undefined ? !!st.visible : true;
      let opacity = st.opacity !== undefined ? st.opacity : 1.0;
      if (hl[id]) { prop.setColor(...hl[id]); visible = true; opacity = Math.max(opacity, 0.95); }
      else { prop.setColor(...base[id]); if (fade && id !== "skin") opacity = Math.min(opacity, 0.18); }
      actor.setVisibility(visible && opacity > 0);
      prop.setOpacity(opacity);
    }
  }

  function applyOverlay() {
    const skin = actors["skin"];
    if (!skin) return;
    const mapper = skin.getMapper();
    const pd = mapper.getInputData();
    const o = model.overlay || {};
    if (!o.codes) { mapper.setScalarVisibility(false); return; }
    const n = pd.getNumberOfPoints();
    const colours = new Uint8Array(n * 3);
    const palette = o.palette.map(rgb);
    for (let i = 0; i < n; i++) colours.set(palette[o.codes[i]] || [200, 200, 200], i * 3);
    pd.getPointData().setScalars(vtkDataArray.newInstance({ name: "overlay", numberOfComponents: 3,
                                                           values: colours }));
    pd.modified();  // else the mapper keeps the colours it uploaded first (light stayed after firm)
    mapper.setColorModeToDirectScalars();
    mapper.setScalarModeToUsePointData();
    mapper.setScalarVisibility(true);
  }

  function applyTransient() {
    for (const a of transient) renderer.removeActor(a);
    transient = [];
    for (const mk of model.markers || []) {
      const src = vtkSphereSource.newInstance({ center: mk.xyz, radius: mk.radius || 2.5,
                                                thetaResolution: 20, phiResolution: 20 });
      const mapper = vtkMapper.newInstance(); mapper.setInputConnection(src.getOutputPort());
      const a = vtkActor.newInstance(); a.setMapper(mapper);
      a.getProperty().setColor(...(mk.colour || [0.1, 0.3, 0.9]));
      transient.push(a);
    }
    const path = model.path || [];
    if (path.length > 1) {
      const pd = vtkPolyData.newInstance();
      pd.getPoints().setData(Float32Array.from(path.flat()), 3);
      const lines = new Uint32Array(path.length + 1); lines[0] = path.length;
      for (let i = 0; i < path.length; i++) lines[i + 1] = i;
      pd.getLines().setData(lines);
      const mapper = vtkMapper.newInstance(); mapper.setInputData(pd);
      const a = vtkActor.newInstance(); a.setMapper(mapper);
      a.getProperty().setColor(0.1, 0.2, 0.8); a.getProperty().setLineWidth(4);
      transient.push(a);
    }
    const x = model.extra || {};
    if (x.points && x.faces) transient.push(polyActor(Float32Array.from(x.points), Uint32Array.from(x.faces),
                                                       x.colour || [0.1, 0.4, 1.0]));
    for (const a of transient) renderer.addActor(a);
  }

  function applyAll({ draw = true } = {}) {
    if (!built) return;
    applyLayers(); applyOverlay(); applyTransient();
    if (draw) renderWindow.render();
    placePin();
  }

  function setView({ draw = true } = {}) {
    const v = model.view || {};
    if (!v.direction || !built) return;
    const cam = renderer.getActiveCamera();
    cam.setFocalPoint(0, 0, 0);
    cam.setPosition(...v.direction);
    cam.setViewUp(...v.up);
    cam.setViewAngle(30);
    renderer.resetCamera();
    cam.zoom(v.zoom || 1.0);
    if (draw) renderWindow.render();
  }

  function focus() {
    const f = model.focus || {};
    if (!f.bounds || !built) return;
    const pad = 20;  // mm of context around the structure
    const b = f.bounds.map((v, i) => (i % 2 === 0 ? v - pad : v + pad));
    renderer.resetCamera(b);
    renderer.resetCameraClippingRange();
    renderWindow.render();
  }

  // ---- click: send the view ray --------------------------------------------------------
  function viewRay(x, y) {
    const view = renderWindow.getViews()[0];
    const [w, h] = view.getSize();
    const a = view.displayToNormalizedDisplay(x, y, 0);
    const b = view.displayToNormalizedDisplay(x, y, 1);
    const p0 = renderer.normalizedDisplayToWorld(a[0], a[1], a[2], w / h);
    const p1 = renderer.normalizedDisplayToWorld(b[0], b[1], b[2], w / h);
    const d = [p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]];
    const n = Math.hypot(...d);
    return { origin: Array.from(p0), direction: d.map((v) => v / n) };
  }
  // vtk.js starts turning the hand at pointerdown, and its trackball redraws the view then and
  // again at release (0.2-0.3 s each in a software renderer), right when a click's verdict arrives.
  // The pointerdown is held back until the pointer has moved further than a click may: a drag
  // then turns the hand from where it began, and a click never redraws the view, only sends its ray.
  function clicksDoNotTurn(interactor) {
    const container = interactor.getContainer();
    container.removeEventListener("pointerdown", interactor.handlePointerDown, { passive: false });
    let held = null;
    function pass(e) {  // to vtk.js: the held press first, then this one
      if (held) { const h = held; held = null; interactor.handlePointerDown(h); }
      if (e) interactor.handlePointerDown(e);
    }
    container.addEventListener("pointerdown", (e) => {
      if (held || e.button !== 0 || !e.isPrimary) { pass(e); return; }  // a pinch, another button
      held = e;
      e.preventDefault();
      container.setPointerCapture(e.pointerId);
    }, { passive: false });
    container.addEventListener("pointermove", (e) => {
      if (!held || e.pointerId !== held.pointerId) return;
      const dx = e.clientX - held.clientX, dy = e.clientY - held.clientY;
      if (dx * dx + dy * dy > DRAG_PX2) pass(null);
    });
    container.addEventListener("pointerup", (e) => {
      if (!held || e.pointerId !== held.pointerId) return;
      held = null;
      container.releasePointerCapture(e.pointerId);
      const canvas = container.querySelector("canvas");
      const box = canvas.getBoundingClientRect();
      const x = (e.clientX - box.left) * canvas.width / box.width;
      const y = (box.bottom - e.clientY) * canvas.height / box.height;
      model.pick = { seq: ++seq, ray: viewRay(x, y), t: Date.now() };
    });
    container.addEventListener("pointercancel", (e) => { if (held && e.pointerId === held.pointerId) held = null; });
  }

  // ---- keyboard ---------------------------------------------------------------------------
  // vtk.js listens for keys on the whole document, so typing "w" in a text box turned the hand
  // into a wireframe.  Its shortcuts (r: reset, w: wireframe, s: surface, v: points) now reach
  // it only while the canvas itself has the focus (a click or Tab gives it the focus).
  function keysOnlyOnTheCanvas(interactor, canvas) {
    const handlers = { keypress: interactor.handleKeyPress, keydown: interactor.handleKeyDown,
                       keyup: interactor.handleKeyUp };
    for (const [type, handler] of Object.entries(handlers)) {
      document.removeEventListener(type, handler);
      if (canvas) canvas.addEventListener(type, handler);
    }
    if (!canvas) return;
    canvas.tabIndex = 0;
    canvas.style.touchAction = "none";  // touch gestures inside the view turn the hand, outside they scroll
    canvas.setAttribute("role", "application");
    canvas.setAttribute("aria-roledescription", "3D view");
    canvas.setAttribute("aria-label",
      "3D hand: drag to turn, scroll or pinch to zoom, click to pick. Keyboard: arrow keys move a probe " +
      "over the view (Shift: small steps), Enter picks at the probe, Escape hides it; " +
      "r reset, w wireframe, s surface");
    canvas.addEventListener("pointerdown", () => canvas.focus({ preventScroll: true }));
    canvas.addEventListener("keydown", onProbeKey);
  }

  // ---- the keyboard probe: a cross-hair moved over the view with the arrow keys ----------
  // Enter sends the view ray under it, exactly as a click there would: the probe moves in
  // fixed screen steps and looks the same everywhere, so it says nothing about any answer.
  const PROBE_STEP = 12, PROBE_FINE = 3;
  const probe = document.createElement("div");
  probe.className = "hand-probe";
  probe.setAttribute("aria-hidden", "true");
  probe.style.cssText = "position:absolute;left:-13px;top:-13px;width:22px;height:22px;display:none;" +
    "pointer-events:none;z-index:6;border-radius:50%;border:2px solid #000;" +
    "box-shadow:0 0 0 2px #fff, inset 0 0 0 2px #fff;" +
    "background:linear-gradient(#000,#000) center/2px 10px no-repeat,linear-gradient(#000,#000) center/10px 2px no-repeat";
  let probeAt = null;  // [x, y] in CSS px from the view's top left corner
  function placeProbe() {
    if (!probeAt) { probe.style.display = "none"; delete root.dataset.probe; return; }
    probe.style.display = "block";
    probe.style.transform = `translate(${probeAt[0]}px, ${probeAt[1]}px)`;
    const box = root.getBoundingClientRect();
    root.dataset.probe = `${box.left + probeAt[0]},${box.top + probeAt[1]}`;
  }
  const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  function onProbeKey(e) {
    const box = root.getBoundingClientRect();
    if (MOVES[e.key]) {
      e.preventDefault();
      const step = e.shiftKey ? PROBE_FINE : PROBE_STEP;
      const [dx, dy] = MOVES[e.key];
      const [x, y] = probeAt || [box.width / 2, box.height / 2];
      probeAt = probeAt ? [Math.min(Math.max(x + dx * step, 0), box.width - 1),
                           Math.min(Math.max(y + dy * step, 0), box.height - 1)] : [x, y];
      placeProbe();
    } else if ((e.key === "Enter" || e.key === " ") && probeAt) {
      e.preventDefault();
      const view = renderWindow.getViews()[0];
      const [w, h] = view.getSize();
      const px = probeAt[0] * w / box.width, py = (box.height - probeAt[1]) * h / box.height;
      model.pick = { seq: ++seq, ray: viewRay(px, py), t: Date.now(), keyboard: true };
    } else if (e.key === "Escape" && probeAt) {
      probeAt = null;
      placeProbe();
    }
  }

  // ---- a label pinned at a point of the hand, its short card beside it -------------------
  const pin = document.createElement("div");
  pin.className = "hand-pin";
  pin.style.cssText = "position:absolute;left:0;top:0;display:none;pointer-events:none;z-index:5";
  const dot = document.createElement("div");
  dot.style.cssText = "position:absolute;left:-6px;top:-6px;width:8px;height:8px;border-radius:50%;" +
    "background:#e020e0;border:2px solid #fff;box-shadow:0 0 0 1px #000";
  const card = document.createElement("div");
  card.className = "hand-pin-card";
  card.setAttribute("role", "status");
  card.style.cssText = "position:absolute;top:-14px;max-width:240px;padding:4px 8px;background:#fff;" +
    "border:1px solid #333;border-radius:4px;font:13px system-ui,sans-serif;color:#111;" +
    "box-shadow:0 1px 4px rgba(0,0,0,.3);white-space:normal;width:max-content";
  pin.append(dot, card);

  function fillPin() {
    const p = model.label || {};
    card.replaceChildren();
    if (!p.xyz) return;
    const title = document.createElement("b");
    title.textContent = p.title || "";
    card.append(title);
    for (const line of p.lines || []) {
      const row = document.createElement("div");
      row.textContent = line;
      card.append(row);
    }
  }

  function placePin() {
    const p = model.label || {};
    if (!p.xyz || !built) { pin.style.display = "none"; return; }
    const view = renderWindow.getViews()[0];
    const [w, h] = view.getSize();
    const nd = renderer.worldToNormalizedDisplay(p.xyz[0], p.xyz[1], p.xyz[2], w / h);
    const inside = nd[0] >= 0 && nd[0] <= 1 && nd[1] >= 0 && nd[1] <= 1 && nd[2] >= 0 && nd[2] <= 1;
    if (!inside) { pin.style.display = "none"; return; }
    const box = root.getBoundingClientRect();
    const x = nd[0] * box.width, y = (1 - nd[1]) * box.height;
    pin.style.display = "block";
    pin.style.transform = `translate(${x}px, ${y}px)`;
    // the card goes to the side of the point with more room (left near the right edge), no wider
    // than that room: on a phone a 240 px card left of the point ran off the view
    const right = box.width - x;
    const flip = right < 250 && x > right;
    card.style.left = flip ? "" : "12px";
    card.style.right = flip ? "12px" : "";
    card.style.maxWidth = `${Math.max(Math.min(240, (flip ? x : right) - 20), 80)}px`;
    pin.dataset.x = String(box.left + x);
    pin.dataset.y = String(box.top + y);
  }

  // what the tests read: the camera and how the meshes are drawn
  root.probe = () => {
    const cam = renderer.getActiveCamera();
    const reps = Object.values(actors).map((a) => a.getProperty().getRepresentation());
    return { position: Array.from(cam.getPosition()), focal: Array.from(cam.getFocalPoint()),
             representations: Array.from(new Set(reps)) };
  };

  // ---- lifecycle ------------------------------------------------------------------------
  let started = false;
  // Bokeh lays the page out again whenever any part of it changes (a verdict's text, a mode's
  // panel): the view is resized and drawn again only when its own size has changed, since a
  // software renderer may take a second over a redraw.
  let drawnSize = "";
  function start() {
    const r = root.getBoundingClientRect();
    const size = `${Math.round(r.width)}x${Math.round(r.height)}`;
    if (started) {
      if (size !== drawnSize && r.width >= 2 && r.height >= 2) {
        drawnSize = size; grw.resize(); renderWindow.render();
      }
      placePin();
      return;
    }
    if (r.width < 2 || r.height < 2) return;
    started = true;
    drawnSize = size;
    grw.setContainer(root);
    const interactor = grw.getInteractor();
    keysOnlyOnTheCanvas(interactor, root.querySelector("canvas"));
    root.appendChild(pin);
    root.appendChild(probe);
    fillPin();
    renderer.getActiveCamera().onModified(placePin);
    clicksDoNotTurn(interactor);
    // how many times the view has started moving (a drag, a zoom): what the tests read
    interactor.onStartAnimation(() => { root.dataset.moves = String(Number(root.dataset.moves || 0) + 1); });
    grw.resize();
    build().catch((err) => {
      root.dataset.error = String(err);
      model.error = "The 3D view could not be built: " + err;
    });
    root.worldToClient = (x, y, z) => {
      const view = renderWindow.getViews()[0];
      const [w, h] = view.getSize();
      const box = root.getBoundingClientRect();
      const nd = renderer.worldToNormalizedDisplay(x, y, z, w / h);
      const d = view.normalizedDisplayToDisplay(nd[0], nd[1], nd[2]);
      return [box.left + d[0] * box.width / w, box.top + box.height - d[1] * box.height / h];
    };
  }
  model.on("after_layout", start);
  model.on("resize", start);
  new ResizeObserver(start).observe(root);
  model.on("meshes", () => build());
  const applySoon = afterPaint(() => { applyAll(); buildShown(); });
  for (const p of ["layers", "highlight", "fade", "overlay", "markers", "path", "extra"]) {
    model.on(p, applySoon);
  }
  model.on("label", () => { fillPin(); placePin(); });
  model.on("view", () => setView());
  model.on("focus", focus);
  model.on("remove", () => { try { grw.delete(); } catch (e) { /* already gone */ } });
  return root;
}
