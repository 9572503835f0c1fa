// The report's explorers, hand-written: no library, no network. Everything they show is already in
// the page, in <script type="application/json"> blocks; every value is set as text, never as HTML.
// Without this script the report is complete and static; with it, it adds what the static page cannot:
// images behind confusion cells and t-SNE points, values on the learning curves, sortable tables,
// two runs side by side, links into closed parts, and the sidebar's "you are here" marker.
(function () {
  "use strict";
  const doc = document;
  const SVG = svgNamespace();
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  // SVG's namespace as the HTML parser gives it, so the file holds no URL at all.
  function svgNamespace() {
    const probe = doc.createElement("div");
    probe.innerHTML = "<svg></svg>";
    return probe.firstChild.namespaceURI;
  }

  function el(tag, className, text) {
    const node = doc.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svgEl(tag, attrs) {
    const node = doc.createElementNS(SVG, tag);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    return node;
  }

  function readData(id) {
    const node = doc.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function percent(value, digits) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(digits) + " %";
  }

  // ---- Links into a closed run: open the <details> around the target first ----------------------
  function openTo(id) {
    const target = id && doc.getElementById(id);
    for (let node = target; node; node = node.parentElement) if (node.tagName === "DETAILS") node.open = true;
    return target;
  }

  doc.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#"]');
    if (link) openTo(decodeURIComponent(link.getAttribute("href").slice(1)));
  });
  window.addEventListener("hashchange", () => openTo(decodeURIComponent(location.hash.slice(1))));
  window.addEventListener("beforeprint", () => doc.querySelectorAll("details").forEach((d) => (d.open = true)));

  function shown(node) {  // inside a closed <details> a node keeps its box but is not drawn
    return node.checkVisibility ? node.checkVisibility() : node.offsetParent !== null;
  }

  // ---- Sidebar: mark the section being read ------------------------------------------------------
  function scrollspy() {
    if (!("IntersectionObserver" in window)) return;
    const links = new Map();
    doc.querySelectorAll('nav a[href^="#"]').forEach((a) => links.set(a.getAttribute("href").slice(1), a));
    const targets = Array.from(links.keys(), (id) => doc.getElementById(id)).filter(Boolean);
    const visible = new Set();
    let marked = null;
    const observer = new IntersectionObserver((entries) => {
      entries.forEach((entry) => (entry.isIntersecting ? visible.add(entry.target) : visible.delete(entry.target)));
      const current = targets.filter((t) => visible.has(t) && shown(t)).pop();
      if (current) mark(links.get(current.id));
    }, { rootMargin: "0px 0px -70% 0px" });
    targets.forEach((t) => observer.observe(t));

    function mark(link) {
      if (link === marked) return;
      doc.querySelectorAll("nav .current, nav .current-parent").forEach((a) => {
        a.classList.remove("current", "current-parent");
        a.removeAttribute("aria-current");
      });
      link.classList.add("current");
      link.setAttribute("aria-current", "location");
      const parent = link.parentElement.parentElement.closest("li");
      if (parent) parent.querySelector("a").classList.add("current-parent");
      marked = link;
      const box = link.closest(".toc");
      if (box && box.scrollHeight > box.clientHeight + 1) {
        const top = link.offsetTop - box.offsetTop;
        if (top < box.scrollTop || top > box.scrollTop + box.clientHeight - 40) box.scrollTop = top - box.clientHeight / 3;
      }
    }
  }

  // ---- Tables sort by a column: click its header --------------------------------------------------
  const NUMBER = /^\s*[−+-]?[\d,]*\.?\d+/;

  function sortKey(cell) {
    const text = cell ? cell.textContent.trim() : "";
    if (NUMBER.test(text)) return { number: parseFloat(text.replace("−", "-").replace(/,/g, "")) };
    return { text: text };
  }

  function compareKeys(a, b) {
    if ("number" in a && "number" in b) return a.number - b.number;
    if ("number" in a) return -1;  // numbers before dashes and words
    if ("number" in b) return 1;
    return a.text.localeCompare(b.text, undefined, { numeric: true });
  }

  function sortable(table) {
    const body = table.tBodies[0];
    if (!table.tHead || !body || body.rows.length < 2) return;
    Array.from(table.tHead.rows[0].cells).forEach((header, column) => {
      const button = el("button", "sort");
      button.type = "button";
      while (header.firstChild) button.appendChild(header.firstChild);
      if (!button.textContent.trim()) return;
      header.appendChild(button);
      button.addEventListener("click", () => {
        const ascending = header.getAttribute("aria-sort") !== "ascending";
        table.tHead.querySelectorAll("th").forEach((th) => th.removeAttribute("aria-sort"));
        header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const rows = Array.from(body.rows);
        rows.sort((a, b) => compareKeys(sortKey(a.cells[column]), sortKey(b.cells[column])) * (ascending ? 1 : -1));
        rows.forEach((row) => body.appendChild(row));
      });
    });
  }

  // ---- Thumbnails: one grey sprite a run, a slot per image ---------------------------------------
  function thumbnail(data, slot, scale) {
    const size = data.side * scale;
    const node = el("span", "thumb");
    node.style.width = node.style.height = size + "px";
    node.style.backgroundImage = 'url("' + data.sprite + '")';
    node.style.backgroundSize = data.columns * size + "px auto";
    node.style.backgroundPosition = -(slot % data.columns) * size + "px " + -Math.floor(slot / data.columns) * size + "px";
    return node;
  }

  function classLabel(data, label, digit) {
    const name = data.names[label];
    return name === String(digit) ? name : digit + " " + name;
  }

  // Item: [slot, confidence %, test index, digit, predicted class].
  function describe(data, item, label) {
    return "true " + classLabel(data, label, item[3]) + ", predicted " + data.names[item[4]] + " (" + item[1] + " %), test image #" + item[2];
  }

  // ---- Confusion explorer: click a cell, see its test images --------------------------------------
  function confusionExplorer(box, data) {
    const matrix = data.confusion.matrix, names = data.names;
    box.appendChild(el("p", "explorer-lead", "Click a cell to see its test images, with the model's confidence in its prediction."));
    const wrap = el("div", "table-wrap");
    const table = el("table", "confusion-grid");
    const head = table.createTHead().insertRow();
    head.appendChild(el("th", "corner", "true ↓ predicted →"));
    names.forEach((name) => head.appendChild(el("th", "", name)));
    const body = table.createTBody();
    const panel = el("div", "cell-images");
    panel.setAttribute("aria-live", "polite");
    matrix.forEach((row, t) => {
      const line = body.insertRow();
      line.appendChild(el("th", "", names[t]));
      const total = row.reduce((a, b) => a + b, 0) || 1;
      row.forEach((count, p) => {
        const cell = line.insertCell();
        const button = el("button", "cell" + (t === p ? " diagonal" : ""), count.toLocaleString("en"));
        button.type = "button";
        button.dataset.cell = t + "," + p;
        const share = count / total;
        button.style.background = "rgba(31, 95, 168, " + share.toFixed(3) + ")";
        if (share > 0.5) button.style.color = "#fff";
        button.setAttribute("aria-label", "true " + names[t] + ", predicted " + names[p] + ": " + count + " images");
        button.addEventListener("click", () => {
          body.querySelectorAll(".cell.selected").forEach((b) => b.classList.remove("selected"));
          button.classList.add("selected");
          showCell(panel, data, t, p, count);
        });
        cell.appendChild(button);
      });
    });
    wrap.appendChild(table);
    box.appendChild(wrap);
    box.appendChild(panel);
  }

  function showCell(panel, data, t, p, count) {
    const items = data.confusion.cells[t + "," + p] || [];
    panel.textContent = "";
    const what = "True " + data.names[t] + ", predicted " + data.names[p] + ": " + count.toLocaleString("en") + " test image" + (count === 1 ? "" : "s");
    const shown = items.length < count ? " (" + items.length + " shown, spread over the cell's confidences)" : "";
    panel.appendChild(el("p", "cell-title", what + shown + "."));
    if (!items.length) {
      const why = count === 0 ? "No test image falls in this cell." :
        data.evaluated_with_thumbnails ? "No image of this cell was saved." :
          "This run was evaluated before images were saved; re-run `cnnreport evaluate " + data.name + "` to see them.";
      panel.appendChild(el("p", "muted", why));
      return;
    }
    const list = el("ul", "thumbs");
    items.forEach((item) => {
      const entry = el("li");
      entry.title = describe(data, item, t);
      entry.appendChild(thumbnail(data, item[0], 2));
      entry.appendChild(el("span", "thumb-label", item[1] + " %"));
      entry.appendChild(el("span", "thumb-index", "#" + item[2]));
      list.appendChild(entry);
    });
    panel.appendChild(list);
  }

  // ---- t-SNE explorer: hover or tap a point, see its image ---------------------------------------
  function tsneExplorer(box, data) {
    const points = data.tsne;
    box.appendChild(el("p", "explorer-lead",
      points.length + " of the embedded test images, each with its image: point at one (or tap it). Ringed points are misclassified."));
    const layout = el("div", "tsne-layout");
    const svg = svgEl("svg", { viewBox: "-20 -20 1040 1040", class: "tsne-chart", role: "img", "aria-label": "t-SNE points with images" });
    points.forEach((point, i) => {
      const wrong = point[2] !== point[7];
      const dot = svgEl("circle", { cx: point[0], cy: 1000 - point[1], r: 13, fill: PALETTE[point[2] % 10], "data-point": i });
      if (wrong) dot.setAttribute("class", "wrong");
      svg.appendChild(dot);
    });
    const card = el("div", "point-card");
    card.setAttribute("aria-live", "polite");
    card.appendChild(el("p", "muted", "Point at a dot to see its test image."));
    let selected = null;
    function show(target) {
      const index = target && target.getAttribute("data-point");
      if (index === null || index === undefined) return;
      const point = points[Number(index)], item = point.slice(3);
      if (selected) selected.classList.remove("selected");
      selected = target;
      target.classList.add("selected");
      target.parentNode.appendChild(target);  // drawn last: on top of its neighbours
      card.textContent = "";
      card.appendChild(thumbnail(data, item[0], 3));
      card.appendChild(el("p", "point-label", "True " + classLabel(data, point[2], item[3])));
      card.appendChild(el("p", point[2] === item[4] ? "" : "wrong-label", "Predicted " + data.names[item[4]] + " (" + item[1] + " %)"));
      card.appendChild(el("p", "muted", "Test image #" + item[2]));
    }
    svg.addEventListener("pointerover", (event) => show(event.target));
    svg.addEventListener("click", (event) => show(event.target));
    layout.appendChild(svg);
    layout.appendChild(card);
    box.appendChild(layout);
  }

  // ---- Learning curves of every run: values at the epoch under the pointer ------------------------
  function curvesHover() {
    const svg = doc.querySelector("svg.curves-chart");
    const series = readData("data-curves");
    if (!svg || !series) return;
    const [left, top, right, bottom] = svg.dataset.box.split(" ").map(Number);
    const e0 = Number(svg.dataset.e0), e1 = Number(svg.dataset.e1);
    const epochs = series.flatMap((s) => s.epoch);
    const first = Math.min(...epochs), last = Math.max(...epochs);
    const width = svg.viewBox.baseVal.width;
    const guide = svgEl("line", { class: "guide", y1: top, y2: bottom, x1: left, x2: left, visibility: "hidden" });
    svg.appendChild(guide);
    const tip = el("div", "curves-tip");
    tip.hidden = true;
    tip.setAttribute("aria-live", "polite");
    svg.parentElement.appendChild(tip);
    function at(event) {
      const rect = svg.getBoundingClientRect();
      const x = ((event.clientX - rect.left) / rect.width) * width;
      const epoch = Math.min(last, Math.max(first, Math.round(e0 + ((x - left) / (right - left)) * (e1 - e0))));
      const position = left + ((epoch - e0) / (e1 - e0)) * (right - left);
      guide.setAttribute("x1", position);
      guide.setAttribute("x2", position);
      guide.setAttribute("visibility", "visible");
      tip.textContent = "";
      tip.appendChild(el("p", "tip-title", "Epoch " + epoch));
      const table = el("table");
      const head = table.createTHead().insertRow();
      ["Run", "test acc.", "test loss", "train loss"].forEach((h) => head.appendChild(el("th", "", h)));
      series.forEach((s, i) => {
        const k = s.epoch.indexOf(epoch);
        if (k < 0) return;
        const row = table.insertRow();
        const name = row.insertCell();
        const swatch = el("span", "swatch");
        swatch.style.borderTopColor = PALETTE[i % 10];
        name.appendChild(swatch);
        name.appendChild(doc.createTextNode(s.name));
        row.insertCell().textContent = percent(s.test_accuracy[k], 2);
        row.insertCell().textContent = s.test_loss[k] === null ? "—" : s.test_loss[k].toFixed(3);
        row.insertCell().textContent = s.train_loss[k].toFixed(3);
      });
      tip.appendChild(table);
      tip.hidden = false;
    }
    svg.addEventListener("pointermove", at);
    svg.addEventListener("pointerdown", at);
  }

  // ---- Two runs side by side ----------------------------------------------------------------------
  const COMPARED_PARTS = ["curves", "confusion", "per-class"];

  function compareView() {
    const section = doc.getElementById("compare");
    const runs = Array.from(doc.querySelectorAll("section.run"));
    if (!section || runs.length < 2) return;
    const pickers = section.querySelector(".compare-pickers"), grid = section.querySelector(".compare-grid");
    const selects = [0, 1].map((side) => {
      const label = el("label", "", side ? "and " : "Compare ");
      const select = el("select");
      select.setAttribute("aria-label", side ? "Second run" : "First run");
      runs.forEach((run, i) => {
        const option = el("option", "", run.dataset.name);
        option.value = String(i);
        select.appendChild(option);
      });
      select.value = String(side);
      select.addEventListener("change", draw);
      label.appendChild(select);
      pickers.appendChild(label);
      return select;
    });
    function column(run) {
      const box = el("div", "compare-column");
      const heading = el("h3", "compare-name");
      const link = el("a", "", run.dataset.name);
      link.href = "#" + run.id;
      heading.appendChild(link);
      box.appendChild(heading);
      const facts = run.querySelector(".facts");
      if (facts) box.appendChild(copy(facts));
      COMPARED_PARTS.forEach((part) => {
        const found = doc.getElementById(run.id + "-" + part);
        if (!found) return;
        const clone = copy(found);
        clone.querySelectorAll(".explorer, .owner").forEach((n) => n.remove());
        box.appendChild(clone);
      });
      return box;
    }
    function draw() {
      grid.textContent = "";
      selects.forEach((select) => grid.appendChild(column(runs[Number(select.value)])));
    }
    draw();
  }

  function copy(node) {
    const clone = node.cloneNode(true);  // ids would repeat: a copy has none
    clone.removeAttribute("id");
    clone.querySelectorAll("[id]").forEach((n) => n.removeAttribute("id"));
    return clone;
  }

  // ---- Start: reveal what needs the script, then build ---------------------------------------------
  doc.documentElement.classList.add("js");
  doc.querySelectorAll(".needs-script[hidden]").forEach((node) => {
    if (!node.classList.contains("explorer")) node.hidden = false;
  });
  const cache = {};
  doc.querySelectorAll(".explorer").forEach((box) => {
    const data = cache[box.dataset.source] || (cache[box.dataset.source] = readData(box.dataset.source));
    if (!data) return;
    if (box.dataset.kind === "confusion" && data.confusion) confusionExplorer(box, data);
    else if (box.dataset.kind === "tsne" && data.tsne && data.tsne.length) tsneExplorer(box, data);
    else return;
    box.hidden = false;
  });
  compareView();
  doc.querySelectorAll("main table").forEach((table) => {
    if (!table.closest(".explorer, .compare-grid, .wide")) sortable(table);  // a wide table has a run a column: nothing to sort
  });
  curvesHover();
  scrollspy();
  openTo(decodeURIComponent(location.hash.slice(1)));
})();
