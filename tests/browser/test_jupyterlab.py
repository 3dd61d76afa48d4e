"""Every chapter notebook in real JupyterLab, in headless Chromium: what a learner sees.

nbval runs the kernel only. This test opens each notebook in the JupyterLab UI,
runs all cells from the Run menu and checks the page:

- the notebook opens without an error dialog, and its kernel starts;
- every cell runs; error outputs appear only in cells tagged ``raises-exception``
  (a traceback inside a widget's output counts too);
- every widget output renders as a control: no "Error displaying widget", no
  "model not found", no broken-widget placeholder (a front-end/back-end version
  mismatch shows up here and nowhere else);
- sliders and buttons can be used: nudging each slider (arrow key) and clicking each
  button must not make the kernel report an exception from a widget callback, nor
  keep it busy for more than 30 s;
- the FIFO explorer of chapter 10 works after Run All (the clean-up cell must not end it) and
  redraws its picture on clicks as its unit tests say: two writers and a reader blocked in read(),
  then a guided experiment; after a kernel restart it says it has stopped (the DOM contract is in
  the docstring of ``ipc_helpers.explorer_view.explorer_ui``);
- every Mermaid diagram in a Markdown cell renders as a picture (JupyterLab 4 draws it as an
  ``img`` inside ``.jp-RenderedMermaid``), none shows a syntax error, and every image in an
  output (the matplotlib figures) has loaded, is not blank and has a text alternative;
- one screenshot per notebook is saved in screenshots/ and is a real, non-blank PNG.

Run it with ``make test-browser`` (it is not part of ``make test``); ``ARGS="-k 05"`` picks
notebooks. ``IPC_BROWSER_NOTEBOOKS=/some/dir`` runs the same checks on the notebooks of another
folder, e.g. a copy with a widget broken on purpose, to see the test fail.

How it knows when things are done: JupyterLab runs with ``expose_app_in_browser``, and the test
reads ``window.jupyterapp`` (cell models, execution counts, the kernel's messages) but drives the
page only as a learner would: the Run menu, clicks, Ctrl+Enter.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from _jlab import NOTEBOOKS, JupyterLab, pids_with_arg, png_summary

NOTEBOOK_NAMES = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
EXPLORER = "10-fifo-explorer.ipynb"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
OPEN_TIMEOUT = 90  # s: page load and kernel start, on a busy 2-core machine
RUN_TIMEOUT = 300  # s: all cells of one notebook (nbval allows 60 s per cell)
RENDER_TIMEOUT = 30  # s: widgets to render after the last cell ran
CLICK_TIMEOUT = 30  # s: the kernel to handle one click

# --- JavaScript run in the page. JupyterLab is started with expose_app_in_browser, so
# window.jupyterapp is the running application; it is only read, never used to run cells.

NOTEBOOK_STATE_JS = """(name) => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  if (!w || !w.content || !w.sessionContext || !w.context || w.context.path !== name) return null;
  const session = w.sessionContext.session;
  const kernel = session && session.kernel;
  return {
    ready: w.context.isReady,
    kernel: kernel ? kernel.status : null,
    kernelId: kernel ? kernel.id : null,
    kernelName: kernel ? kernel.name : null,
    // Requests the kernel is still working on (main shell and subshells), and ms since its last message.
    busy: window.__ipcBusy ? window.__ipcBusy.size : 0,
    executed: window.__ipcExecuted || 0,  // cells the kernel started since the page opened
    quietMs: window.__ipcLastIopub ? Date.now() - window.__ipcLastIopub : null,
    cells: w.content.widgets.map((c) => {
      const code = c.model.type === 'code';
      return {
        type: c.model.type,
        count: code ? c.model.executionCount : null,
        running: code && c.model.executionState === 'running',
        errors: code ? c.model.outputs.toJSON().filter((o) => o.output_type === 'error')
                         .map((o) => o.ename + ': ' + o.evalue) : [],
      };
    }),
  };
}"""

# The kernel's own status is not enough: ipywidgets handles widget messages in a kernel *subshell*,
# whose "idle" JupyterLab shows as the kernel's status while the main shell still runs a cell. So
# track busy/idle per request, from every status message.
INSTALL_KERNEL_LISTENER_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  window.__ipcKernelErrors = [];
  window.__ipcBusy = new Set();
  window.__ipcLastIopub = Date.now();
  window.__ipcExecuted = 0;
  w.sessionContext.iopubMessage.connect((_, msg) => {
    window.__ipcLastIopub = Date.now();
    if (msg.header.msg_type === 'execute_input') window.__ipcExecuted += 1;
    const parent = msg.parent_header && msg.parent_header.msg_id;
    if (msg.header.msg_type === 'status' && parent) {
      if (msg.content.execution_state === 'busy') window.__ipcBusy.add(parent);
      else if (msg.content.execution_state === 'idle') window.__ipcBusy.delete(parent);
    }
    if (msg.header.msg_type === 'error') {
      window.__ipcKernelErrors.push({
        parent: msg.parent_header ? msg.parent_header.msg_type : null,
        error: msg.content.ename + ': ' + msg.content.evalue,
      });
    }
  });
}"""

WIDGET_OUTPUTS_JS = """(mime) => {
  const w = window.jupyterapp.shell.currentWidget;
  const found = [];
  const bad = (node) => !!node.querySelector('.jupyter-widgets-error-widget')
      || /Error displaying widget|model not found/i.test(node.textContent);
  w.content.widgets.forEach((c, i) => {
    if (c.model.type !== 'code') return;
    c.model.outputs.toJSON().forEach((o, j) => {
      if (!(o.data && o.data[mime])) return;
      const child = c.outputArea.widgets[j];
      const node = child && child.node.querySelector('.jp-OutputArea-output');
      let state = 'pending';
      if (node && bad(node)) state = 'error';
      else if (node && node.querySelector('.jupyter-widgets')) state = 'ok';
      found.push({cell: i, state, text: node ? node.innerText.slice(0, 300) : '(no output node)'});
    });
  });
  return found;
}"""

# Tracebacks shown inside widgets (an Output widget), which are not in the cell's own outputs.
# (A broken widget nested in a box is caught by WIDGET_OUTPUTS_JS, which scans the whole output.)
NESTED_PROBLEMS_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const cells = w.content.widgets.map((c) => c.node);
  const cellOf = (el) => cells.indexOf(el.closest('.jp-Cell'));
  const problems = [];
  w.content.node.querySelectorAll(
      '.jupyter-widgets .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    .forEach((el) => {
      const text = el.innerText;
      if (/Traceback \\(most recent call last\\)|^-{20,}\\s*\\n\\s*\\w+(Error|Exception)/m.test(text))
        problems.push({cell: cellOf(el), kind: 'traceback in a widget output', text: text.slice(0, 400)});
    });
  return problems;
}"""


def notebook_tags(path: Path) -> list[list[str]]:
    """The tags of each cell of the .ipynb file, by cell index."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [list(cell.get("metadata", {}).get("tags", [])) for cell in nb["cells"]]


def wait_until(predicate, timeout: float, interval: float = 0.25):
    """Call ``predicate`` until it returns something truthy; return it, or None after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


class NotebookPage:
    """One notebook opened in its own JupyterLab page (own workspace, own kernel)."""

    # The menu a learner uses for Run All, as the interface names it (test_jupyterlab_zh.py: in Chinese).
    RUN_MENU, RUN_ALL = "Run", "Run All Cells"

    def __init__(self, lab: JupyterLab, context, name: str) -> None:
        self.lab = lab
        self.name = name
        self.tags: list[list[str]] = []  # read in open(), from the copy JupyterLab serves
        self.page = context.new_page()
        self.page.set_default_timeout(30_000)
        self.console_errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.console_errors.append(f"uncaught: {e}"))
        self.kernel_id: str | None = None

    # -- helpers --------------------------------------------------------------------------------
    def state(self) -> dict | None:
        return self.page.evaluate(NOTEBOOK_STATE_JS, self.name)

    def dialogs(self) -> list[str]:
        return [d.inner_text().strip() for d in self.page.locator(".jp-Dialog").all() if d.is_visible()]

    def widget_console_errors(self) -> str:
        lines = [
            e.strip().splitlines()[0][:300]
            for e in self.console_errors
            if re.search(r"widget|module|version|model", e, re.I)
        ]
        return "\n    ".join(dict.fromkeys(lines[-5:])) or "(nothing about widgets in the browser console)"

    def fail(self, message: str) -> None:
        pytest.fail(f"{self.name}: {message}", pytrace=False)

    def wait_kernel_idle(self, timeout: float) -> bool:
        """True once the kernel has finished every request and been quiet for a moment."""
        streak = 0

        def idle() -> bool:
            nonlocal streak
            st = self.state()
            quiet = (
                st is not None
                and st["kernel"] == "idle"
                and st["busy"] == 0
                and (st["quietMs"] or 0) >= 500
                and not any(c["running"] for c in st["cells"])
            )
            streak = streak + 1 if quiet else 0
            return streak >= 3

        return bool(wait_until(idle, timeout, interval=0.2))

    # -- steps ----------------------------------------------------------------------------------
    def open(self) -> None:
        workspace = re.sub(r"[^a-z0-9]", "", self.name.lower())
        self.page.goto(self.lab.lab_url(f"ws{workspace}", self.name), wait_until="domcontentloaded")

        def opened():
            if self.dialogs():
                return "dialog"
            st = self.state()
            return st and st["ready"] and st["kernel"] == "idle" and "ok"

        result = wait_until(opened, OPEN_TIMEOUT, interval=0.3)
        if result == "dialog" or self.dialogs():
            shown = "\n    ".join(self.dialogs())
            self.fail(f"JupyterLab showed a dialog while opening the notebook:\n    {shown}")
        if result is None:
            st = self.state()
            self.fail(
                f"the notebook did not open with an idle kernel within {OPEN_TIMEOUT} s "
                f"(kernel status: {st and st['kernel']})"
            )
        st = self.state()
        self.kernel_id = st["kernelId"]
        try:
            self.tags = notebook_tags(self.lab.root_dir / self.name)
        except (ValueError, KeyError) as e:
            self.fail(f"not a valid notebook file: {e}")
        if len(st["cells"]) != len(self.tags):
            self.fail(f"JupyterLab shows {len(st['cells'])} cells, the file has {len(self.tags)}")
        self.page.evaluate(INSTALL_KERNEL_LISTENER_JS)
        self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")

    def run_all(self) -> dict:
        """Run > Run All Cells from the menu bar; wait until every cell ran (or Run All stopped)."""
        self.page.locator(".lm-MenuBar-item").filter(has_text=re.compile(rf"^\s*{self.RUN_MENU}\s*$")).click()
        self.page.locator(".lm-Menu .lm-Menu-item:not(.lm-mod-disabled)").filter(
            has_text=re.compile(rf"^\s*{self.RUN_ALL}\s*$")
        ).click()
        streak = 0

        def finished():
            # Done when every code cell has run, or Run All stopped at an error no tag allows;
            # and nothing is running any more (three polls in a row).
            nonlocal streak
            st = self.state()
            if st is None:
                streak = 0
                return None
            code = [(i, c) for i, c in enumerate(st["cells"]) if c["type"] == "code"]
            stopped = any(c["errors"] and "raises-exception" not in self.tags[i] for i, c in code)
            # The stored execution counts are there before anything runs: count executions too.
            all_ran = st["executed"] >= len(code) and all(c["count"] is not None for _, c in code)
            done = (
                st["kernel"] == "idle"
                and st["busy"] == 0
                and not any(c["running"] for _, c in code)
                and (all_ran or stopped)
            )
            streak = streak + 1 if done else 0
            return st if streak >= 3 else None

        st = wait_until(finished, RUN_TIMEOUT, interval=0.3)
        if st is None:
            st = self.state() or {"cells": [], "kernel": None}
            running = [i for i, c in enumerate(st["cells"]) if c["running"]]
            not_run = [i for i, c in enumerate(st["cells"]) if c["type"] == "code" and c["count"] is None]
            self.fail(
                f"Run All Cells did not finish within {RUN_TIMEOUT} s "
                f"(kernel: {st['kernel']}; cell running: {running}; cells not run yet: {not_run})"
            )
        return st

    def run_cell(self, index: int) -> dict:
        """Select cell ``index`` with a click on its prompt and run it with Ctrl+Enter."""
        before = self.state()["cells"][index]["count"] or 0
        cell = self.page.locator(".jp-Notebook .jp-Cell").nth(index)
        cell.locator(".jp-InputPrompt").first.click()
        self.page.keyboard.press("Control+Enter")
        ran = wait_until(lambda: (self.state()["cells"][index]["count"] or 0) > before, CLICK_TIMEOUT)
        if not ran or not self.wait_kernel_idle(RUN_TIMEOUT):
            self.fail(f"cell {index} did not run again after Ctrl+Enter")
        return self.state()

    def check_cells(self, st: dict) -> list[str]:
        problems = []
        for i, cell in enumerate(st["cells"]):
            tagged = "raises-exception" in self.tags[i]
            if cell["errors"] and not tagged:
                problems.append(
                    f"cell {i} shows an error output but is not tagged raises-exception: {cell['errors'][0]}"
                )
        not_run = [i for i, c in enumerate(st["cells"]) if c["type"] == "code" and c["count"] is None]
        if not_run:
            problems.append(f"cells that never ran (Run All stopped early?): {not_run}")
        for p in self.page.evaluate(NESTED_PROBLEMS_JS):
            if p["kind"].startswith("traceback") and "raises-exception" in self.tags[p["cell"]]:
                continue
            problems.append(f"cell {p['cell']}: {p['kind']}: {p['text']}")
        return problems

    def check_widgets(self) -> list[str]:
        def settled():
            found = self.page.evaluate(WIDGET_OUTPUTS_JS, WIDGET_MIME)
            return found if all(w["state"] != "pending" for w in found) else None

        # An empty list means "no widget outputs": wait_until would treat it as not yet settled.
        outputs = wait_until(lambda: (o := settled()) is not None and {"outputs": o}, RENDER_TIMEOUT)
        outputs = outputs["outputs"] if outputs else None
        if outputs is None:
            outputs = self.page.evaluate(WIDGET_OUTPUTS_JS, WIDGET_MIME)
        problems = []
        for w in outputs:
            if w["state"] == "error":
                problems.append(
                    f"cell {w['cell']}: the widget did not render in JupyterLab "
                    f"(shows: {w['text'].strip()!r}). Usually the ipywidgets Python package and the "
                    f"JupyterLab widget extension (jupyterlab_widgets / @jupyter-widgets) do not match, "
                    f"or a widget asks for a front-end module version that is not installed. "
                    f"Browser console:\n    {self.widget_console_errors()}"
                )
            elif w["state"] == "pending":
                problems.append(f"cell {w['cell']}: the widget output stayed empty for {RENDER_TIMEOUT} s")
        return problems

    def kernel_errors(self, since: int = 0) -> list[dict]:
        return self.page.evaluate("() => window.__ipcKernelErrors || []")[since:]

    def check_callback_errors(self, since: int = 0) -> list[str]:
        return [
            f"the kernel reported an exception while handling a widget event ({e['parent']}): {e['error']}"
            for e in self.kernel_errors(since)
            if e["parent"] != "execute_request"
        ]

    def screenshot(self, folder: Path) -> Path:
        self.page.evaluate(
            """() => {
              const first = document.querySelector('.jp-Notebook .jp-OutputArea-output .jupyter-widgets');
              const target = first || document.querySelector('.jp-Notebook .jp-Cell');
              if (target) target.scrollIntoView({block: 'center'});
            }"""
        )
        self.page.wait_for_timeout(500)
        path = folder / (Path(self.name).stem + ".png")
        self.page.screenshot(path=str(path))
        width, height, colors = png_summary(path)
        assert (width, height) == (1280, 900), f"{path.name}: unexpected size {width}x{height}"
        assert colors >= 16, f"{path.name}: the screenshot is blank ({colors} distinct colours)"
        return path

    def poke_widgets(self) -> list[str]:
        """Nudge every slider and click every button (outside the explorer); report callback errors."""
        problems: list[str] = []
        before = len(self.kernel_errors())
        notebook = self.page.locator(".jp-Notebook")
        sliders = notebook.locator(".widget-slider .noUi-handle").all()
        buttons = notebook.locator("button.jupyter-button").all()
        for kind, element in [("slider", s) for s in sliders] + [("button", b) for b in buttons]:
            if element.evaluate("e => !!e.closest('.ipc-explorer')") or not element.is_visible():
                continue
            if element.evaluate("e => e.disabled === true"):
                continue
            label = element.evaluate("e => (e.innerText || e.getAttribute('aria-valuetext') || '').trim()")
            if kind == "slider":
                element.focus()
                self.page.keyboard.press("ArrowRight")
            else:
                element.click()
            if not self.wait_kernel_idle(CLICK_TIMEOUT):
                problems.append(f"the kernel stayed busy {CLICK_TIMEOUT} s after using the {kind} {label!r}")
                break
            for problem in self.check_callback_errors(before):
                problems.append(f"after using the {kind} {label!r}: {problem}")
            before = len(self.kernel_errors())
        return problems

    def close(self) -> None:
        """Close the page (without saving) and shut its kernel down; check the process is gone."""
        try:
            self.page.close()
        except Exception:  # the page may be gone after an interrupt; kernels still go
            pass
        finally:
            self.lab.shutdown_all_kernels()
        if self.kernel_id:
            left = wait_until(lambda: not pids_with_arg(f"kernel-{self.kernel_id}.json"), 20)
            assert left, f"{self.name}: kernel process still running after shutdown"


PICTURES_JS = """() => {
  const notebook = document.querySelector('.jp-Notebook');
  const mermaid = [...notebook.querySelectorAll('.jp-RenderedMermaid')].map((m) => {
    const img = m.querySelector('img');
    return {
      drawn: !!(img && img.complete && img.naturalWidth > 0) || !!m.querySelector('svg'),
      error: m.classList.contains('jp-mod-warning') || /syntax error/i.test(m.innerText),
      alt: img ? (img.getAttribute('alt') || img.getAttribute('aria-label') || '') : '',
      text: m.innerText.slice(0, 160),
    };
  });
  const images = [...notebook.querySelectorAll('.jp-OutputArea-output img')].map((img) => {
    if (!img.complete || img.naturalWidth === 0) return {loaded: false, colours: 0, alt: img.alt};
    const canvas = document.createElement('canvas');
    canvas.width = Math.min(img.naturalWidth, 400);
    canvas.height = Math.min(img.naturalHeight, 300);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = new Set();
    for (let i = 0; i < data.length && colours.size < 16; i += 4) {
      colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
    return {loaded: true, colours: colours.size, alt: img.alt};
  });
  return {mermaid, images};
}"""


def mermaid_blocks(name: str) -> int:
    """How many Mermaid diagrams the notebook's Markdown cells hold."""
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c["cell_type"] == "markdown"]
    return sum("".join(c["source"]).count("```mermaid") for c in cells)


def image_outputs(name: str) -> int:
    """How many picture outputs (image/png, ...) the stored notebook holds."""
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    return sum(any(mime.startswith("image/") for mime in o.get("data", {})) for o in outputs)


def check_pictures(nb: NotebookPage) -> list[str]:
    """Every Mermaid diagram drawn without error, every output image loaded, not blank, with alt text."""
    expected = mermaid_blocks(nb.name)
    found: dict = {}

    def drawn() -> bool:
        found.update(nb.page.evaluate(PICTURES_JS))
        return len(found["mermaid"]) >= expected and all(m["drawn"] or m["error"] for m in found["mermaid"])

    wait_until(drawn, RENDER_TIMEOUT)
    problems = []
    if len(found["mermaid"]) != expected:
        problems.append(f"{expected} Mermaid blocks in the notebook, {len(found['mermaid'])} rendered")
    for i, m in enumerate(found["mermaid"]):
        if m["error"] or not m["drawn"]:
            problems.append(f"Mermaid diagram {i + 1} is not drawn ({m['text']!r})")
    if len(found["images"]) != image_outputs(nb.name):
        problems.append(f"{image_outputs(nb.name)} output images stored, {len(found['images'])} shown")
    for i, image in enumerate(found["images"]):
        if not image["loaded"] or image["colours"] < 3:
            problems.append(f"output image {i + 1} is {'blank' if image['loaded'] else 'not loaded'}")
        if not (image["alt"] or "").strip():
            problems.append(f"output image {i + 1} has no text alternative (alt)")
    return problems


def open_and_check(lab: JupyterLab, context, name: str, screenshots: Path | None) -> NotebookPage:
    nb = NotebookPage(lab, context, name)
    nb.open()
    st = nb.run_all()
    problems = nb.check_cells(st)
    problems += nb.check_widgets()
    problems += check_pictures(nb)
    problems += nb.check_callback_errors()
    if nb.dialogs():
        problems.append("a dialog is open: " + " | ".join(nb.dialogs()))
    if screenshots is not None:
        nb.screenshot(screenshots)
    if problems:
        nb.fail("\n  - " + "\n  - ".join(problems))
    return nb


@pytest.mark.timeout(OPEN_TIMEOUT + RUN_TIMEOUT + 120)
@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_runs_and_renders_in_jupyterlab(lab, browser_context, screenshots, name):
    nb = None
    try:
        nb = open_and_check(lab, browser_context, name, screenshots)
        problems = nb.poke_widgets()
        if nb.dialogs():
            problems.append("a dialog is open after using the widgets: " + " | ".join(nb.dialogs()))
        if problems:
            nb.fail("\n  - " + "\n  - ".join(problems))
    finally:
        if nb is not None:
            nb.close()
        else:
            lab.shutdown_all_kernels()


# --- Chapter 10: the FIFO explorer, clicked as a learner would. The CSS classes are the DOM contract
# in the docstring of ipc_helpers.explorer_view.explorer_ui; the picture is SVG inside the HTML widget
# .ipc-explorer-view: one <g class="ipc-proc ipc-KIND" data-name="NAME"> per process, whose texts are
# name, pid, state and detail; the pipe <g class="ipc-pipe"> with one rect.ipc-fill per page in use;
# line.ipc-arrow per process that has the FIFO open (solid) or is blocked in open (dashed, with a
# <title>); path.ipc-wait (dashed, data-from/data-to, <title>) from a process blocked in read() or
# write() to each process of the other side that has the FIFO open.

EXPLORER_CELLS_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  return w.content.widgets.map((c, i) => (c.node.querySelector('.ipc-explorer') ? i : -1))
    .filter((i) => i >= 0);
}"""

PICTURE_JS = """(box) => {
  const svg = box.querySelector('.ipc-explorer-view svg');
  if (!svg) return null;
  const procs = {};
  svg.querySelectorAll('g.ipc-proc').forEach((g) => {
    procs[g.dataset.name] = {kind: g.getAttribute('class').split(' ')[1].slice(4),
                             texts: [...g.querySelectorAll('text')].map((t) => t.textContent)};
  });
  const pipe = svg.querySelector('g.ipc-pipe');
  return {
    procs,
    fills: pipe.querySelectorAll('rect.ipc-fill').length,
    pipe: pipe.querySelector('.ipc-pipe-label').textContent,
    arrows: [...svg.querySelectorAll('line.ipc-arrow')].map((l) => ({
      dashed: l.hasAttribute('stroke-dasharray'),
      title: l.querySelector('title') ? l.querySelector('title').textContent : null})),
    waits: [...svg.querySelectorAll('path.ipc-wait')].map((w) => ({
      from: w.dataset.from, to: w.dataset.to, dashed: w.hasAttribute('stroke-dasharray'),
      title: w.querySelector('title').textContent})),
    calls: [...svg.querySelectorAll('text')].map((t) => t.textContent).filter((t) => t.startsWith('-> ')),
    role: svg.getAttribute('role'),
    desc: svg.querySelector('desc').textContent,
    hidden: [...box.querySelectorAll('.ipc-sr-only li')].map((li) => li.textContent),
    width: svg.getBoundingClientRect().width,
  };
}"""


class ExplorerPage:
    """The explorer's box in the page: buttons by row and class, the picture read from its SVG."""

    def __init__(self, nb: NotebookPage, cell: int) -> None:
        self.nb = nb
        self.box = nb.page.locator(".jp-Notebook .jp-Cell").nth(cell).locator(".ipc-explorer").first

    def picture(self) -> dict | None:
        return self.box.evaluate(PICTURE_JS)

    def button(self, row: str, css: str):
        return self.box.locator(f".ipc-row-{row.replace(' ', '-')} button.{css}").first

    def enabled(self, row: str) -> list[str]:
        buttons = self.box.locator(f".ipc-row-{row.replace(' ', '-')} button").all()
        return [b.inner_text().strip() for b in buttons if not b.is_disabled()]

    def click(self, row: str, css: str, expect, what: str) -> dict:
        """Click, then wait until ``expect(picture)`` holds; fail with the picture and messages if not."""
        before = self.picture()
        button = self.button(row, css)
        if button.count() == 0:
            self.nb.fail(f"explorer: no button .{css} in the row of {row}")
        button.click()
        shown = wait_until(lambda: (p := self.picture()) is not None and expect(p) and p, CLICK_TIMEOUT)
        errors = self.nb.check_callback_errors()
        if not shown or errors:
            message = self.box.locator(".ipc-message").first.inner_text()
            self.nb.fail(
                f"explorer: after {what}, the picture does not show what it should.\n--- before: {before}\n"
                f"--- now: {self.picture()}\n--- message: {message!r}\n--- kernel errors: {errors or 'none'}"
            )
        return shown


@pytest.mark.timeout(OPEN_TIMEOUT + RUN_TIMEOUT + 180)
def test_fifo_explorer_two_writers_and_a_blocked_reader(lab, browser_context, screenshots):
    if EXPLORER not in NOTEBOOK_NAMES:
        pytest.skip(f"notebooks/{EXPLORER} does not exist")
    nb = None
    try:
        nb = open_and_check(lab, browser_context, EXPLORER, screenshots=None)
        cells = nb.page.evaluate(EXPLORER_CELLS_JS)
        if not cells:
            nb.fail("no element with the class ipc-explorer after Run All (see the DOM contract)")
        # Run All has also run the clean-up cell: the explorer with buttons must still work, as
        # the learner finds it, without running its cell again.
        ex = ExplorerPage(nb, cells[0])
        start = wait_until(ex.picture, CLICK_TIMEOUT)
        if not start or list(start["procs"]) != ["writer 1", "writer 2", "reader"]:
            nb.fail(f"explorer: after Run All it should draw writer 1, writer 2 and a reader: {start}")
        if {p["kind"] for p in start["procs"].values()} != {"idle"}:
            nb.fail(f"explorer: after Run All its processes should be alive, not open yet: {start}")
        assert start["role"] == "img" and "reader not open yet" in start["desc"], start
        assert not start["arrows"] and start["hidden"][0] == "FIFO your_pipe: no process has it open", start
        assert ex.enabled("reader") == ["open", "O_NONBLOCK", "O_RDWR", "exit", "remove"]
        assert not ex.box.locator(".ipc-stale").first.is_visible()  # shown only without a kernel
        tip = ex.button("reader", "ipc-open").get_attribute("title")
        assert tip and tip.startswith("reader: os.open() the FIFO"), tip
        ex.box.scroll_into_view_if_needed()
        # A pressed option looks pressed (blue, a check mark), and is used by the next open only.
        toggle = ex.box.locator(".ipc-row-writer-1 button.ipc-nonblock").first
        toggle.click()
        wait_until(lambda: "mod-info" in (toggle.get_attribute("class") or ""), CLICK_TIMEOUT)
        assert toggle.locator("i.fa-check").count() == 1, toggle.inner_html()
        toggle.click()
        wait_until(lambda: "mod-info" not in (toggle.get_attribute("class") or ""), CLICK_TIMEOUT)

        p = ex.click(
            "reader", "ipc-open", lambda p: p["procs"]["reader"]["kind"] == "blocked", "open (reader)"
        )
        assert p["procs"]["reader"]["texts"][2:] == [
            "blocked in open()",
            "waits for a writer to open the FIFO",
        ]
        for writer in ("writer 1", "writer 2"):
            p = ex.click(
                writer, "ipc-open", lambda p, w=writer: p["procs"][w]["kind"] == "open", f"open ({writer})"
            )
        assert p["procs"]["reader"]["kind"] == "open" and len(p["arrows"]) == 3 and p["calls"][0] == "-> fd 3"
        p = ex.click("writer 1", "ipc-write", lambda p: p["fills"] == 1, "write (writer 1)")
        assert p["pipe"] == "5 of 65536 bytes: 16 pages of 4096" and p["calls"][-1] == "-> 5", p
        p = ex.click("reader", "ipc-read", lambda p: p["fills"] == 0, "read (reader)")
        assert p["calls"][-1] == "-> b'hello'", p
        p = ex.click(
            "writer 1", "ipc-close", lambda p: p["procs"]["writer 1"]["kind"] == "idle", "close (writer 1)"
        )
        p = ex.click("reader", "ipc-read", lambda p: p["procs"]["reader"]["kind"] == "blocked", "read again")
        assert (
            p["procs"]["reader"]["texts"][2] == "blocked in read()"
            and p["calls"][-1] == "-> ... (not returned)"
        )
        assert not any(a["dashed"] for a in p["arrows"]), p  # solid: who has the FIFO open
        # dashed: from the blocked reader to writer 2, whose write or close ends the wait
        assert p["waits"] == [
            {"from": "reader", "to": "writer 2", "dashed": True,
             "title": "reader waits for writer 2: a write, or its close"}
        ], p
        assert ex.enabled("reader") == ["exit", "remove"], ex.enabled("reader")
        assert p["width"] > 600, f"the picture is drawn {p['width']} px wide"
        # The screenshot of the issue: two writers (one closed, one open), one reader blocked in read().
        ex.box.locator(".ipc-explorer-view").first.scroll_into_view_if_needed()
        nb.page.evaluate("(b) => b.scrollIntoView({block: 'start'})", ex.box.element_handle())
        nb.page.wait_for_timeout(300)
        shot = screenshots / "10-fifo-explorer-clicked.png"
        nb.page.screenshot(path=str(shot))
        assert png_summary(shot)[2] >= 16, f"{shot.name} is blank"

        p = ex.click(
            "writer 2", "ipc-close", lambda p: p["procs"]["reader"]["kind"] == "open", "close (writer 2)"
        )
        assert "-> b'' (end of file)" in p["calls"], p
        # A guided experiment: chosen in the menu, set up with one click, then the learner's click.
        ex.box.locator(".ipc-experiment select").first.select_option(index=3)
        wait_until(
            lambda: "C-like" in ex.box.locator(".ipc-experiment-text").first.inner_text(), CLICK_TIMEOUT
        )
        ex.box.locator("button.ipc-experiment-setup").first.click()
        wait_until(
            lambda: (p := ex.picture()) and p["procs"].get("writer 2", {}).get("kind") == "blocked",
            CLICK_TIMEOUT,
        )
        p = ex.click(
            "reader", "ipc-exit", lambda p: p["procs"]["writer 2"]["kind"] == "killed", "exit (reader)"
        )
        assert (
            p["procs"]["writer 2"]["texts"][:1] == ["writer 2 (C-like)"]
            and "-> 65536 (of 100000)" in p["calls"]
        )
        assert not any(t.is_visible() and "mod-active" in (t.get_attribute("class") or "")
                       for t in ex.box.locator("button.ipc-nonblock, button.ipc-rdwr").all())
        # start afresh: a reader and a writer, nothing open
        ex.box.locator("button.ipc-reset").first.click()
        p = wait_until(lambda: (p := ex.picture()) and list(p["procs"]) == ["writer 1", "reader"] and p,
                       CLICK_TIMEOUT)
        assert p and {q["kind"] for q in p["procs"].values()} == {"idle"}, ex.picture()
        # The kernel restarts: the widget says it has stopped (its processes end with the kernel).
        # (what Kernel > Restart Kernel does once its dialog is confirmed)
        restart = "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()"
        nb.page.evaluate(restart)
        stale = ex.box.locator(".ipc-stale").first
        seen = wait_until(stale.is_visible, CLICK_TIMEOUT)
        nb.page.screenshot(path=str(screenshots / "10-fifo-explorer-stopped.png"))
        if not seen:
            classes = nb.page.evaluate(
                "() => [...document.querySelectorAll('.ipc-explorer, .ipc-explorer *')].map(e => e.className)"
                ".filter(c => typeof c === 'string' && c.includes('disconnected')).slice(0, 5)"
            )
            nb.fail(f"explorer: after a kernel restart, no 'This explorer has stopped' note; {classes}; "
                    f"explorer boxes: {nb.page.locator('.ipc-explorer').count()}")
    finally:
        if nb is not None:
            nb.close()
        else:
            lab.shutdown_all_kernels()
