// The tag page. Plain JavaScript, no build step, nothing loaded from elsewhere: every
// call goes to this API under /api/v1/tags/admin with the key in the X-API-Key header.
// The rule form is built from the API's /form answer (features of tags.yaml and the
// operators the validator allows per type); the validator itself runs on the server and
// its problems are shown at the control their JSON path names.
"use strict";

(() => {
  const API = "/api/v1/tags/admin";
  const KEY_STORE = "yd_tag_admin_key";
  const EDITED_STORE = "yd_tag_admin_edited";
  const NUMBER_RE = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
  const FINAL = new Set(["completed", "failed", "cancelled"]);
  const RUN_WORDS = {
    submitted: ["排队中", "pending"], running: ["运行中", "running"], completed: ["已完成", "done"],
    failed: ["失败", "failed"], cancelled: ["已取消", "failed"],
  };
  const ACTION_WORDS = { create: "新建", edit: "修改", activate: "启用", deactivate: "停用" };
  const AUDIT_KEYS = [["tag_name", "名称"], ["category", "分类"], ["description", "说明"], ["is_active", "状态"],
    ["rule", "规则"]];

  const $ = (selector, root = document) => root.querySelector(selector);

  const state = {
    form: null, fields: {}, types: {}, operators: {},
    tags: [], history: {}, historyError: "",
    selected: new Set(), edited: new Set(readEdited()),
    editing: null, rule: null, problems: [], showAll: false, touched: new WeakSet(),
    validateTimer: null, validateSeq: 0, validating: null,
    run: null, runTimer: null, started: false,
  };

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function svg(tag, attrs = {}, ...children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.setAttribute("class", value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function fmtInt(value) {
    return value === null || value === undefined ? "—" : Number(value).toLocaleString("zh-CN");
  }

  function fmtPct(value) {
    return value === null || value === undefined ? "—" : `${(Number(value) * 100).toFixed(1)}%`;
  }

  function fmtTime(iso, withSeconds = false) {
    if (!iso) return "—";
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return withSeconds ? `${text}:${pad(d.getSeconds())}` : text;
  }

  let noticeTimer = null;
  function notice(message, bad = false) {
    const box = $("#notice");
    box.textContent = message;
    box.className = bad ? "notice bad" : "notice";
    box.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { box.hidden = true; }, bad ? 9000 : 5000);
  }

  function readEdited() {
    try { return JSON.parse(sessionStorage.getItem(EDITED_STORE) || "[]"); } catch { return []; }
  }

  function saveEdited() {
    sessionStorage.setItem(EDITED_STORE, JSON.stringify([...state.edited]));
  }

  // ---------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, body) {
      super(messageOf(status, body));
      this.status = status;
      this.body = body;
    }
  }

  function messageOf(status, body) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (detail && !Array.isArray(detail) && detail.message) return detail.message;
    if (Array.isArray(detail)) return detail.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
    if (body && (body.error || body.message)) return [body.error, body.message].filter(Boolean).join(": ");
    return status ? `HTTP ${status}` : "无法连接 API 服务";
  }

  async function api(path, { method = "GET", body } = {}) {
    const headers = { Accept: "application/json" };
    const key = sessionStorage.getItem(KEY_STORE);
    if (key) headers["X-API-Key"] = key;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(API + path, {
        method, headers, cache: "no-store", credentials: "omit",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, { detail: `无法连接 API 服务（${error.message}）` });
    }
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    if (response.status === 401) {
      sessionStorage.removeItem(KEY_STORE);
      askKey(key ? "密钥不正确或已失效，请重新输入。" : "");
      throw new ApiError(401, data);
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  // ---------------------------------------------------------------- the key

  function askKey(message) {
    const dialog = $("#key-dialog");
    $("#key-error").textContent = message || "";
    if (!dialog.open) dialog.showModal();
    $("#key-input").focus();
  }

  async function submitKey(event) {
    event.preventDefault();
    const key = $("#key-input").value.trim();
    if (!key) { $("#key-error").textContent = "请输入密钥。"; return; }
    sessionStorage.setItem(KEY_STORE, key);
    $("#key-submit").disabled = true;
    try {
      await start();
      $("#key-input").value = "";
      $("#key-dialog").close();
    } catch (error) {
      if (error.status !== 401) $("#key-error").textContent = error.message;
    } finally {
      $("#key-submit").disabled = false;
    }
  }

  // ---------------------------------------------------------------- start

  async function start() {
    const me = await api("/me");
    $("#actor").textContent = `操作人：${me.actor}`;
    const form = await api("/form");
    state.form = form;
    state.fields = Object.fromEntries(form.fields.map((f) => [f.name, f]));
    state.types = Object.fromEntries(form.types.map((t) => [t.type, t]));
    state.operators = form.operators;
    if (!$("#today").value) $("#today").value = form.today;
    $("#category-list").replaceChildren(...form.categories.map((c) => el("option", { value: c })));
    $("#sample-size").max = form.max_sample;
    state.started = true;
    await loadTags();
    loadHistory();
    loadAudit();
  }

  // ---------------------------------------------------------------- the tag list

  async function loadTags() {
    const answer = await api("/tags");
    state.tags = answer.tags;
    const active = new Set(state.tags.filter((t) => t.is_active).map((t) => t.tag_id));
    for (const id of state.edited) if (active.has(id)) state.selected.add(id);
    for (const id of [...state.selected]) if (!active.has(id)) state.selected.delete(id);
    renderTags();
  }

  async function loadHistory() {
    try {
      const answer = await api("/history?limit=60");
      state.history = Object.fromEntries(Object.entries(answer.tags).map(([id, points]) => [Number(id), points]));
      state.historyError = "";
      $("#history-note").className = "muted";
      const runs = new Set(Object.values(answer.tags).flat().map((p) => p.run_id));
      $("#history-note").textContent = runs.size
        ? `命中用户与命中率取自最近 ${runs.size} 次标签运行（Dagster 中 user_tags 的物化记录，不含只算指定用户的运行）。`
        : "还没有标签运行记录：运行一次后这里显示命中用户与趋势。";
    } catch (error) {
      if (error.status === 401) return;
      state.historyError = error.message;
      $("#history-note").textContent = `读取运行历史失败（命中用户与趋势暂不显示）：${error.message}`;
      $("#history-note").className = "banner";
    }
    renderTags();
    if (state.editing && state.editing.tag) renderChart(state.editing.tag.tag_id);
  }

  function latest(tagId) {
    const points = state.history[tagId] || [];
    return points.length ? points[points.length - 1] : null;
  }

  function renderTags() {
    const body = $("#tag-rows");
    body.replaceChildren();
    if (!state.tags.length) {
      body.append(el("tr", {}, el("td", { colspan: 11, class: "muted", text: "还没有标签：点“新建标签”添加第一个。" })));
    }
    const editingId = state.editing && state.editing.tag ? state.editing.tag.tag_id : null;
    for (const tag of state.tags) {
      const last = latest(tag.tag_id);
      const rowClass = [tag.is_active ? "" : "inactive", tag.tag_id === editingId ? "current" : ""].join(" ").trim();
      const box = el("input", {
        type: "checkbox", "aria-label": `选择标签 ${tag.tag_id} 运行`, disabled: !tag.is_active,
        title: tag.is_active ? "选中后可运行" : "停用的标签不能运行",
        onchange: (event) => {
          if (event.target.checked) state.selected.add(tag.tag_id); else state.selected.delete(tag.tag_id);
          updateRunButton();
        },
      });
      box.checked = state.selected.has(tag.tag_id);
      body.append(el("tr", { class: rowClass || null, "data-tag-id": tag.tag_id },
        el("td", { class: "check" }, box),
        el("td", { class: "num", text: tag.tag_id }),
        el("td", {}, tag.tag_name,
          state.edited.has(tag.tag_id) ? el("span", { class: "badge edited", text: "已修改·待运行" }) : null),
        el("td", { text: tag.category || "—" }),
        el("td", {}, el("span", { class: `badge ${tag.is_active ? "on" : "off"}`, text: tag.is_active ? "启用" : "停用" })),
        el("td", { class: "rule" }, ruleCell(tag)),
        el("td", { class: "num", "data-col": "matched", text: last ? fmtInt(last.users_matched) : "—" }),
        el("td", { class: "num", "data-col": "hit-rate", text: last ? fmtPct(last.hit_rate) : "—" }),
        el("td", {}, sparkline(state.history[tag.tag_id] || [])),
        el("td", { class: "nowrap" }, lastChange(tag)),
        el("td", {}, el("div", { class: "buttons" },
          el("button", { type: "button", class: "small", text: "编辑", onclick: () => openEditor(tag.tag_id) }),
          el("button", {
            type: "button", class: `small${tag.is_active ? " danger" : ""}`, text: tag.is_active ? "停用" : "启用",
            onclick: () => switchTag(tag, !tag.is_active),
          })))));
    }
    updateRunButton();
  }

  function updateRunButton() {
    const button = $("#run-selected");
    button.disabled = state.selected.size === 0;
    button.textContent = state.selected.size ? `运行所选标签（${state.selected.size} 个）` : "运行所选标签";
  }

  function ruleCell(tag) {
    if (tag.rule === null) return el("span", { class: "rule-text problem", text: "（没有规则）" });
    const text = summarize(tag.rule);
    const problems = tag.problems || [];
    return el("span", {
      class: `rule-text${problems.length ? " problem" : ""}`,
      title: problems.length ? `规则有问题：\n${problems.map((p) => `${p.path}: ${p.message}`).join("\n")}` : text,
    }, problems.length ? `⚠ ${text}` : text);
  }

  function lastChange(tag) {
    const change = tag.last_change;
    if (!change) return el("span", { class: "muted", text: "—" });
    return el("span", { title: `${ACTION_WORDS[change.action] || change.action}` },
      `${change.actor} · ${fmtTime(change.changed_at)}`);
  }

  function valueText(node) {
    const op = state.operators[node.operator];
    const value = node.value;
    const kind = op ? op.value : "scalar";
    if (kind === "none") return "";
    if (kind === "range" && Array.isArray(value)) return `${value[0]} ~ ${value[1]}`;
    if (kind === "list" && Array.isArray(value)) return `[${value.join("、")}]`;
    if (kind === "days") return `${value} 天`;
    return typeof value === "string" ? `“${value}”` : JSON.stringify(value);
  }

  function summarize(node, depth = 0) {
    if (node === null || node === undefined) return "（没有规则）";
    if (typeof node !== "object") return String(node);
    if (isGroup(node)) {
      const children = Array.isArray(node.conditions) ? node.conditions : [];
      const parts = children.map((child) => summarize(child, depth + 1));
      let text = parts.join(node.logic === "AND" ? " 且 " : " 或 ");
      if (node.logic === "NOT") return `非（${text}）`;
      if (depth > 0 && parts.length > 1) text = `（${text}）`;
      return text || "（空组）";
    }
    const field = state.fields[node.field];
    const label = field ? field.label : node.field;
    if (node.operator === "recent_days") return `${label} 在最近 ${node.value} 天内`;
    const op = state.operators[node.operator];
    return `${label} ${op ? op.label : node.operator} ${valueText(node)}`.trim();
  }

  // ---------------------------------------------------------------- charts

  function sparkline(points) {
    if (!points.length) return el("span", { class: "muted", text: state.historyError ? "—" : "暂无运行" });
    const width = 120, height = 28, pad = 3;
    const values = points.map((p) => Number(p.users_matched || 0));
    const max = Math.max(...values), min = Math.min(...values);
    const x = (i) => (values.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (values.length - 1));
    const y = (v) => (max === min ? height / 2 : height - pad - ((v - min) * (height - 2 * pad)) / (max - min));
    const last = values.length - 1;
    return svg("svg", {
      class: "spark", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `命中用户趋势：${values.length} 次运行，最近一次 ${values[last]} 人`,
    },
    svg("title", { text: points.map((p) => `${fmtTime(p.time)}  ${fmtInt(p.users_matched)} 人  ${fmtPct(p.hit_rate)}`).join("\n") }),
    values.length > 1 ? svg("polyline", { points: values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ") }) : null,
    svg("circle", { cx: x(last).toFixed(1), cy: y(values[last]).toFixed(1), r: 2.5 }));
  }

  function niceMax(value) {
    if (!(value > 0)) return 1;
    const step = 10 ** Math.floor(Math.log10(value));
    const f = value / step;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * step;
  }

  function renderChart(tagId) {
    // users matched per run (the line, left axis); the hit rate is written at the points
    // (same users evaluated each run: a second line would only lie on top of the first)
    const box = $("#tag-chart");
    const points = state.history[tagId] || [];
    if (!points.length) {
      box.replaceChildren(el("p", { class: "muted", text: state.historyError
        ? `读取运行历史失败：${state.historyError}` : "这个标签还没有运行记录。" }));
      return;
    }
    const W = 760, H = 250, L = 64, R = 40, T = 34, B = 40;
    const counts = points.map((p) => Number(p.users_matched || 0));
    const maxCount = niceMax(Math.max(...counts) * 1.1);
    const times = points.map((p) => new Date(p.time).getTime());
    const t0 = Math.min(...times), t1 = Math.max(...times);
    const x = (i) => (t1 === t0 ? L + (W - L - R) / 2 : L + ((times[i] - t0) * (W - L - R)) / (t1 - t0));
    const y = (v) => T + (H - T - B) * (1 - v / maxCount);
    const chart = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img",
      "aria-label": `命中趋势：${points.length} 次运行，最近一次命中 ${counts[counts.length - 1]} 人` });
    for (let i = 0; i <= 4; i += 1) {
      const yy = T + ((H - T - B) * i) / 4;
      chart.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: yy, y2: yy }));
      chart.append(svg("text", { x: L - 6, y: yy + 4, "text-anchor": "end", text: fmtInt(Math.round(maxCount * (1 - i / 4))) }));
    }
    chart.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    const ticks = points.length <= 5 ? points.map((_, i) => i)
      : [0, Math.round((points.length - 1) / 4), Math.round((points.length - 1) / 2), Math.round((3 * (points.length - 1)) / 4), points.length - 1];
    for (const i of new Set(ticks)) {
      chart.append(svg("text", { x: x(i), y: H - B + 16, "text-anchor": "middle", text: fmtTime(points[i].time).slice(5) }));
    }
    if (points.length > 1) {
      chart.append(svg("polyline", { class: "count", points: counts.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ") }));
    }
    const labelled = new Set(points.length <= 8 ? points.map((_, i) => i) : [0, points.length - 1]);
    points.forEach((p, i) => {
      const label = `${fmtTime(p.time, true)}\n命中 ${fmtInt(p.users_matched)} 人，命中率 ${fmtPct(p.hit_rate)}` +
        (p.users_added !== undefined && p.users_added !== null ? `\n新增 ${fmtInt(p.users_added)}，移除 ${fmtInt(p.users_removed)}` : "");
      chart.append(svg("circle", { class: "count-dot", cx: x(i), cy: y(counts[i]), r: 4 }, svg("title", { text: label })));
      if (labelled.has(i)) {
        chart.append(svg("text", { class: "point-label", x: x(i), y: y(counts[i]) - 10, "text-anchor": "middle",
          text: `${fmtInt(counts[i])} 人 · ${fmtPct(p.hit_rate)}` }));
      }
    });
    chart.append(svg("text", { x: L, y: 16, class: "legend-count", text: "● 每次运行命中的用户数（标注：人数 · 命中率）" }));
    box.replaceChildren(chart);
  }

  // ---------------------------------------------------------------- the editor

  function isGroup(node) {
    return node !== null && typeof node === "object" && ("logic" in node || "conditions" in node);
  }

  function firstField() {
    return state.form.fields.find((f) => f.name !== "user_id") || state.form.fields[0];
  }

  function newCondition() {
    const field = firstField();
    const node = { field: field.name, operator: "", type: field.rule_types[0] };
    fixOperator(node);
    return node;
  }

  function operatorsOf(type) {
    return state.types[type] ? state.types[type].operators : [];
  }

  function kindOf(operator) {
    return state.operators[operator] ? state.operators[operator].value : "scalar";
  }

  function resetValue(node) {
    const kind = kindOf(node.operator);
    if (kind === "none") delete node.value;
    else if (kind === "list") node.value = [];
    else if (kind === "range") node.value = [null, null];
    else if (kind === "days") node.value = 30;
    else if (node.type === "boolean") node.value = true;
    else node.value = null;
  }

  // the operator a new condition on a field of this type starts with
  const FIRST_OPERATOR = { number: ">=", date: "recent_days", string: "=", boolean: "=", list: "contains" };

  function fixOperator(node) {
    const allowed = operatorsOf(node.type);
    if (!allowed.includes(node.operator)) {
      node.operator = allowed.includes(FIRST_OPERATOR[node.type]) ? FIRST_OPERATOR[node.type] : allowed[0] || "";
      resetValue(node);
    }
  }

  function formable(node, depth = 0) {
    // whether the form can show this rule: groups with a list of conditions, objects as leaves
    if (depth > 64 || node === null || typeof node !== "object" || Array.isArray(node)) return false;
    if (isGroup(node)) return Array.isArray(node.conditions) && node.conditions.every((c) => formable(c, depth + 1));
    return true;
  }

  function asGroup(rule) {
    if (isGroup(rule)) return rule;
    return { logic: "AND", conditions: [rule] };
  }

  async function openEditor(tagId) {
    clearEditorErrors();
    $("#editor-banner").hidden = true;
    let tag = null;
    if (tagId !== null) {
      try { tag = await api(`/tags/${tagId}`); } catch (error) { notice(error.message, true); return; }
    }
    const create = tag === null;
    state.editing = { create, tag };
    state.showAll = !create;
    state.touched = new WeakSet();
    $("#editor-title").textContent = create ? "新建标签" : `编辑标签 #${tag.tag_id} ${tag.tag_name}`;
    $("#f-tag_id").value = create ? "" : tag.tag_id;
    $("#f-tag_id").disabled = !create;
    $("#f-tag_name").value = create ? "" : tag.tag_name;
    $("#f-category").value = create ? "" : tag.category;
    $("#f-description").value = create ? "" : tag.description;
    $("#active-wrap").hidden = !create;
    $("#f-is_active").checked = true;
    if (create || tag.rule === null) {
      state.rule = { logic: "AND", conditions: [newCondition()] };
    } else if (formable(tag.rule)) {
      state.rule = asGroup(JSON.parse(JSON.stringify(tag.rule)));
    } else {
      state.rule = { logic: "AND", conditions: [newCondition()] };
      banner(`保存的规则无法在表单中显示（${typeof tag.rule === "string" ? "不是有效的 JSON" : "结构不对"}）：` +
        "表单里是一个新的规则，原文见下方“编辑 JSON”。", true);
      $("#rule-json-edit").value = typeof tag.rule === "string" ? tag.rule : JSON.stringify(tag.rule, null, 2);
    }
    $("#try-result").hidden = true;
    $("#try-result").replaceChildren();
    $("#tag-extra").hidden = create;
    $("#editor").hidden = false;
    closeJsonEdit();
    renderBuilder();
    renderTags();
    if (!create) {
      renderChart(tag.tag_id);
      loadTagAudit(tag.tag_id);
    }
    $("#editor").scrollIntoView({ behavior: "smooth", block: "start" });
    $("#f-tag_name").focus({ preventScroll: true });
  }

  function closeEditor() {
    state.editing = null;
    $("#editor").hidden = true;
    renderTags();
  }

  function banner(message, bad = false, action = null) {
    const box = $("#editor-banner");
    box.replaceChildren(message, action || "");
    box.className = bad ? "banner bad" : "banner";
    box.hidden = false;
  }

  function currentTagId() {
    if (!state.editing) return null;
    if (state.editing.tag) return state.editing.tag.tag_id;
    const typed = $("#f-tag_id").value.trim();
    return /^\d+$/.test(typed) ? Number(typed) : null;
  }

  function touch(node) {
    state.touched.add(node);
  }

  function changed() {
    renderJson();
    markTryStale();
    scheduleValidate();
  }

  function structural() {
    renderBuilder();
    markTryStale();
  }

  function renderBuilder() {
    $("#rule-builder").replaceChildren(renderGroup(state.rule, "$", null, 0));
    renderJson();
    scheduleValidate();
  }

  function errSpan(path) {
    return el("span", { class: "err", "data-err": path });
  }

  function renderGroup(group, path, parent, depth) {
    const logic = el("select", { class: "logic", "data-path": `${path}.logic`, "aria-label": "条件的组合方式" },
      state.form.logics.map((l) => el("option", { value: l.logic, text: l.label })));
    if (!state.form.logics.some((l) => l.logic === group.logic)) {
      logic.prepend(el("option", { value: group.logic ?? "", text: `（无效：${group.logic}）` }));
    }
    logic.value = group.logic ?? "";
    logic.addEventListener("change", () => { group.logic = logic.value; touch(group); changed(); });
    const maxDepth = state.form.limits.max_depth;
    const head = el("div", { class: "group-head" },
      el("span", { class: "hint", text: depth === 0 ? "用户满足" : "条件组：" }), logic,
      el("span", { class: "hint", text: depth === 0 ? "以下条件时打上此标签" : "以下条件" }),
      el("button", {
        type: "button", class: "small", text: "＋ 条件", "data-action": "add-condition",
        onclick: () => { group.conditions.push(newCondition()); touch(group); structural(); },
      }),
      el("button", {
        type: "button", class: "small", text: "＋ 条件组", "data-action": "add-group", disabled: depth + 2 > maxDepth,
        title: depth + 2 > maxDepth ? `最多嵌套 ${maxDepth} 层` : "添加一个可以嵌套的条件组",
        onclick: () => {
          const child = { logic: "OR", conditions: [newCondition()] };
          group.conditions.push(child);
          touch(group);
          structural();
        },
      }),
      parent ? el("button", {
        type: "button", class: "small danger", text: "删除此组", "data-action": "remove-group",
        onclick: () => { parent.conditions.splice(parent.conditions.indexOf(group), 1); touch(parent); structural(); },
      }) : null);
    const children = el("div", { class: "children" });
    group.conditions.forEach((child, i) => {
      const childPath = `${path}.conditions[${i}]`;
      children.append(isGroup(child) ? renderGroup(child, childPath, group, depth + 1)
        : renderCondition(child, childPath, group));
    });
    if (!group.conditions.length) children.append(el("div", { class: "empty-group", text: "（空组：请添加条件，或删除此组）" }));
    return el("div", { class: "group", "data-path": path, "data-testid": "group" },
      head, errSpan(`${path}.logic`), errSpan(`${path}.conditions`), depth > 0 ? errSpan(path) : null, children);
  }

  function fieldSelect(node, path) {
    const select = el("select", { class: "field", "data-path": `${path}.field`, "aria-label": "字段" });
    if (!node.field) select.append(el("option", { value: "", text: "请选择字段" }));
    else if (!state.fields[node.field]) select.append(el("option", { value: node.field, text: `${node.field}（未知字段）` }));
    const groups = new Map();
    for (const f of state.form.fields) {
      if (!groups.has(f.group)) groups.set(f.group, el("optgroup", { label: f.group }));
      groups.get(f.group).append(el("option", { value: f.name, title: f.origin, text: `${f.label}（${f.name}）` }));
    }
    select.append(...groups.values());
    select.value = node.field ?? "";
    const field = state.fields[node.field];
    select.title = field ? `${field.origin}；类型：${typeLabel(field.type)}` : "";
    select.addEventListener("change", () => {
      node.field = select.value;
      const f = state.fields[node.field];
      if (f && !f.rule_types.includes(node.type)) {
        node.type = f.rule_types[0];
        fixOperator(node);
      }
      touch(node);
      structural();
    });
    return select;
  }

  function typeLabel(type) {
    return state.types[type] ? state.types[type].label : type;
  }

  function typeControl(node, path) {
    const field = state.fields[node.field];
    const choices = field ? field.rule_types : state.form.types.map((t) => t.type);
    if (choices.length === 1 && choices[0] === node.type) {
      return el("span", { class: "type-tag", "data-path": `${path}.type`, title: "字段的类型（来自特征配置）",
        text: typeLabel(node.type) });
    }
    const select = el("select", { class: "type", "data-path": `${path}.type`, "aria-label": "按什么类型比较" },
      choices.map((t) => el("option", { value: t, text: `按${typeLabel(t)}` })));
    if (!choices.includes(node.type)) select.prepend(el("option", { value: node.type ?? "", text: `（无效类型：${node.type}）` }));
    select.value = node.type ?? "";
    select.addEventListener("change", () => { node.type = select.value; fixOperator(node); touch(node); structural(); });
    return select;
  }

  function operatorSelect(node, path) {
    const allowed = operatorsOf(node.type);
    const select = el("select", { class: "operator", "data-path": `${path}.operator`, "aria-label": "运算符" },
      allowed.map((op) => el("option", { value: op, text: `${state.operators[op].label}（${op}）` })));
    if (!allowed.includes(node.operator)) {
      select.prepend(el("option", { value: node.operator ?? "", text: `（${typeLabel(node.type)}不支持：${node.operator}）` }));
    }
    select.value = node.operator ?? "";
    select.addEventListener("change", () => {
      const before = kindOf(node.operator);
      node.operator = select.value;
      if (kindOf(node.operator) !== before) resetValue(node);
      touch(node);
      structural();
    });
    return select;
  }

  function parseScalar(text, type) {
    const t = text.trim();
    if (t === "") return null;
    if (type === "number") return NUMBER_RE.test(t) ? Number(t) : t;
    return t;
  }

  function shown(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  function valueInput(node, path, type, current, onValue, extra = {}) {
    const attrs = { class: "value", "data-path": `${path}.value`, ...extra };
    if (type === "boolean") {
      const select = el("select", attrs, el("option", { value: "true", text: "是 (true)" }),
        el("option", { value: "false", text: "否 (false)" }));
      if (typeof current !== "boolean") select.prepend(el("option", { value: "", text: "请选择" }));
      select.value = typeof current === "boolean" ? String(current) : "";
      select.addEventListener("change", () => onValue(select.value === "" ? null : select.value === "true"));
      return select;
    }
    const input = el("input", { ...attrs, type: type === "date" ? "date" : "text",
      inputmode: type === "number" ? "decimal" : null, placeholder: type === "number" ? "数值" : type === "date" ? "YYYY-MM-DD" : "值" });
    input.value = shown(current);
    input.addEventListener("input", () => onValue(parseScalar(input.value, type)));
    return input;
  }

  function valueControls(node, path) {
    const kind = kindOf(node.operator);
    const set = (value) => { node.value = value; touch(node); changed(); };
    const type = node.type;
    if (kind === "none") return [el("span", { class: "no-value", text: "（不需要值）" })];
    if (kind === "days") {
      const input = el("input", { class: "value", type: "text", inputmode: "numeric", "data-path": `${path}.value`,
        "aria-label": "天数", placeholder: "天数" });
      input.value = shown(node.value);
      input.addEventListener("input", () => {
        const t = input.value.trim();
        set(t === "" ? null : /^\d+$/.test(t) ? Number(t) : t);
      });
      return [input, el("span", { class: "range-sep", text: "天内" })];
    }
    if (kind === "list") {
      const itemType = type === "list" ? "string" : type;
      const input = el("input", { class: "value list", type: "text", "data-path": `${path}.value`,
        "aria-label": "取值列表", placeholder: "多个值用逗号分隔，如 VIP2, VIP3" });
      input.value = Array.isArray(node.value) ? node.value.join(", ") : shown(node.value);
      input.addEventListener("input", () => {
        set(input.value.split(/[,，、\n]/).map((s) => s.trim()).filter(Boolean).map((s) => parseScalar(s, itemType)));
      });
      return [input];
    }
    if (kind === "range") {
      const pair = Array.isArray(node.value) ? node.value : [null, null];
      const low = valueInput(node, path, type, pair[0], (v) => set([v, (Array.isArray(node.value) ? node.value : pair)[1] ?? null]),
        { "aria-label": "下限" });
      const high = valueInput(node, path, type, pair[1], (v) => set([(Array.isArray(node.value) ? node.value : pair)[0] ?? null, v]),
        { "aria-label": "上限" });
      return [low, el("span", { class: "range-sep", text: "至" }), high];
    }
    const itemType = type === "list" ? "string" : type;
    return [valueInput(node, path, itemType, node.value, set, { "aria-label": "值" })];
  }

  function ctl(...children) {
    return el("div", { class: "ctl" }, ...children);
  }

  function renderCondition(node, path, parent) {
    const valueBox = el("div", { class: "ctl" }, el("div", { class: "buttons" }, ...valueControls(node, path)),
      errSpan(`${path}.value`));
    return el("div", { class: "cond", "data-path": path, "data-testid": "condition" },
      ctl(fieldSelect(node, path), errSpan(`${path}.field`)),
      ctl(typeControl(node, path), errSpan(`${path}.type`)),
      ctl(operatorSelect(node, path), errSpan(`${path}.operator`)),
      valueBox,
      el("button", {
        type: "button", class: "small danger", text: "删除", "data-action": "remove-condition", title: "删除这个条件",
        onclick: () => { parent.conditions.splice(parent.conditions.indexOf(node), 1); touch(parent); structural(); },
      }),
      ctl(errSpan(path)));
  }

  function renderJson() {
    $("#rule-json").textContent = JSON.stringify(state.rule, null, 2);
  }

  // ---------------------------------------------------------------- validation at the fields

  function scheduleValidate() {
    clearTimeout(state.validateTimer);
    setStatus("checking", "校验中…");
    state.validateTimer = setTimeout(() => { validateNow(); }, 250);
  }

  async function validateNow() {
    clearTimeout(state.validateTimer);
    const seq = ++state.validateSeq;
    const run = (async () => {
      try {
        const answer = await api("/validate", { method: "POST", body: { rule: state.rule, tag_id: currentTagId() } });
        if (seq !== state.validateSeq) return;
        state.problems = answer.problems;
        showProblems();
      } catch (error) {
        if (seq === state.validateSeq) setStatus("bad", `无法校验：${error.message}`);
      }
    })();
    state.validating = run;
    await run;
    return state.problems;
  }

  function setStatus(kind, text) {
    const status = $("#rule-status");
    status.className = `rule-status ${kind}`;
    status.textContent = text;
  }

  function nodeAt(path) {
    // the deepest group or condition on the way along a validator path
    let node = state.rule;
    let found = node;
    const steps = path.replace(/^\$/, "").match(/\.[^.[\]]+|\[\d+\]/g) || [];
    for (const step of steps) {
      if (node === null || typeof node !== "object") break;
      node = step.startsWith("[") ? node[Number(step.slice(1, -1))] : node[step.slice(1)];
      if (node !== null && typeof node === "object" && !Array.isArray(node)) found = node;
    }
    return found;
  }

  function parentPath(path) {
    return path.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
  }

  function clearEditorErrors() {
    for (const span of document.querySelectorAll("#editor [data-err]")) span.replaceChildren();
    for (const control of document.querySelectorAll("#editor .invalid")) {
      control.classList.remove("invalid");
      control.removeAttribute("aria-invalid");
    }
  }

  function showProblems() {
    const editor = $("#editor");
    for (const span of editor.querySelectorAll("#rule-builder [data-err], #rule-root-error")) span.replaceChildren();
    for (const control of editor.querySelectorAll("#rule-builder .invalid")) {
      control.classList.remove("invalid");
      control.removeAttribute("aria-invalid");
    }
    const targets = new Map([...editor.querySelectorAll("#rule-builder [data-err], #rule-root-error")]
      .map((span) => [span.dataset.err, span]));
    const controls = new Map();
    for (const control of editor.querySelectorAll("#rule-builder [data-path]")) {
      if (!controls.has(control.dataset.path)) controls.set(control.dataset.path, []);
      controls.get(control.dataset.path).push(control);
    }
    let hidden = 0;
    for (const problem of state.problems) {
      if (!state.showAll && !state.touched.has(nodeAt(problem.path))) { hidden += 1; continue; }
      let where = problem.path;
      while (!targets.has(where) && where !== "$" && where) where = parentPath(where);
      const span = targets.get(where) || targets.get("$");
      span.append(el("div", { "data-problem-path": problem.path, text: problem.message }));
      for (const control of controls.get(problem.path) || []) {
        control.classList.add("invalid");
        control.setAttribute("aria-invalid", "true");
      }
    }
    if (!state.problems.length) setStatus("ok", "✓ 规则校验通过（按 tags.yaml 的特征与类型）");
    else if (hidden === state.problems.length) setStatus("checking", "规则还没填完：填好各条件的值后在此显示校验结果。");
    else setStatus("bad", `✗ 规则有 ${state.problems.length} 处问题，见标红的位置`);
  }

  function setFieldError(field, message) {
    const span = document.querySelector(`#editor [data-err="field:${field}"]`);
    const input = document.getElementById(`f-${field}`);
    if (span) span.textContent = message;
    else banner(message, true);
    if (input) { input.classList.add("invalid"); input.setAttribute("aria-invalid", "true"); }
  }

  function clearFieldErrors() {
    for (const span of document.querySelectorAll('#editor [data-err^="field:"]')) span.replaceChildren();
    for (const input of document.querySelectorAll("#editor .form-grid .invalid")) {
      input.classList.remove("invalid");
      input.removeAttribute("aria-invalid");
    }
  }

  function showWriteError(error) {
    const detail = error.body && error.body.detail;
    if (error.status === 409) {
      banner(`${error.message}。`, true, el("button", {
        type: "button", class: "small", text: "重新载入此标签",
        onclick: () => openEditor(state.editing.tag ? state.editing.tag.tag_id : null),
      }));
    }
    if (detail && detail.problems && detail.problems.length) {
      state.showAll = true;
      state.problems = detail.problems;
      showProblems();
    } else if (detail && detail.field && detail.field !== "rule" && error.status !== 409) {
      setFieldError(detail.field, detail.message);
    } else if (Array.isArray(detail)) {
      for (const item of detail) {
        const field = (item.loc || [])[1];
        if (["tag_id", "tag_name", "category", "description"].includes(field)) setFieldError(field, item.msg);
        else banner(`${(item.loc || []).join(".")}: ${item.msg}`, true);
      }
    } else if (error.status !== 409) {
      banner(error.message, true);
    }
  }

  // ---------------------------------------------------------------- JSON box

  function openJsonEdit() {
    const area = $("#rule-json-edit");
    if (!area.value) area.value = JSON.stringify(state.rule, null, 2);
    area.hidden = false;
    $("#rule-json").hidden = true;
    $("#json-edit").hidden = true;
    $("#json-apply").hidden = false;
    $("#json-cancel").hidden = false;
    area.focus();
  }

  function closeJsonEdit() {
    $("#rule-json-edit").hidden = true;
    $("#rule-json").hidden = false;
    $("#json-edit").hidden = false;
    $("#json-apply").hidden = true;
    $("#json-cancel").hidden = true;
    $("#json-error").textContent = "";
  }

  function applyJson() {
    let parsed;
    try {
      parsed = JSON.parse($("#rule-json-edit").value);
    } catch (error) {
      $("#json-error").textContent = `不是有效的 JSON：${error.message}`;
      return;
    }
    if (!formable(parsed)) {
      $("#json-error").textContent = "表单只能显示由条件组 {logic, conditions: [...]} 和条件 {field, operator, value, type} 构成的规则。";
      return;
    }
    state.rule = asGroup(parsed);
    state.showAll = true;
    $("#rule-json-edit").value = "";
    closeJsonEdit();
    structural();
  }

  // ---------------------------------------------------------------- try

  function markTryStale() {
    const box = $("#try-result");
    if (!box.hidden && box.firstChild && !box.querySelector(".stale-note")) {
      box.prepend(el("p", { class: "banner stale-note", text: "规则已改动：下面是改动前的试算结果，请重新试算。" }));
    }
  }

  function sampleTable(title, rows, fields, testid) {
    const head = el("tr", {}, el("th", { text: "用户ID" }),
      fields.map((f) => el("th", { title: f, class: state.fields[f] && state.fields[f].type === "number" ? "num" : null,
        text: state.fields[f] ? state.fields[f].label : f })));
    const cell = (value) => (typeof value === "number"
      ? el("td", { class: "num", text: value.toLocaleString("zh-CN", { maximumFractionDigits: 4 }) })
      : el("td", { text: Array.isArray(value) ? value.join(", ") : shown(value) }));
    const body = rows.length ? rows.map((row) => el("tr", {}, el("td", { text: row.user_id }),
      fields.map((f) => cell(row[f]))))
      : [el("tr", {}, el("td", { colspan: fields.length + 1, class: "muted", text: "无" }))];
    return el("div", { "data-testid": testid }, el("h4", { text: title }),
      el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, head), el("tbody", {}, body))));
  }

  function renderTry(result) {
    const saved = result.saved_rule;
    const files = Object.values(result.files_read || {}).reduce((a, b) => a + b, 0);
    const figures = [
      el("div", { class: "figure", "data-testid": "try-matched" }, el("b", { text: fmtInt(result.matched) }), el("span", { text: "命中用户" })),
      el("div", { class: "figure" }, el("b", { text: fmtPct(result.hit_rate) }),
        el("span", { text: `命中率（共评估 ${fmtInt(result.users_evaluated)} 人）` })),
    ];
    if (saved) {
      figures.push(
        el("div", { class: "figure gain", "data-testid": "try-gained" }, el("b", { text: `+${fmtInt(result.gained)}` }),
          el("span", { text: "新增：现规则未命中" })),
        el("div", { class: "figure loss", "data-testid": "try-lost" }, el("b", { text: `−${fmtInt(result.lost)}` }),
          el("span", { text: "移除：现规则命中、新规则不再命中" })));
    }
    const note = saved
      ? (saved.problems.length ? `现规则在这些数据上无效（${saved.problems.join("; ")}），按“现规则不命中任何人”比较。`
        : `现规则命中 ${fmtInt(saved.matched)} 人。`)
      : "新标签：没有现规则可比较，命中的都是新增。";
    const n = result.sample_size;
    const samples = [sampleTable(`命中用户样本（按用户ID排序的前 ${n} 个）`, result.samples.matched, result.sample_fields, "sample-matched")];
    if (saved) {
      samples.push(sampleTable("新增用户样本", result.samples.gained, result.sample_fields, "sample-gained"),
        sampleTable("移除用户样本", result.samples.lost, result.sample_fields, "sample-lost"));
    }
    $("#try-result").replaceChildren(
      el("h3", { text: "试算结果（未保存）" }),
      el("div", { class: "figures" }, figures),
      el("p", { class: "muted", text: `${note} 数据日期 ${result.today}，读取 ODS 文件 ${files} 个，用时 ${result.seconds} 秒。` }),
      el("div", { class: "samples" }, samples));
  }

  async function tryDraft() {
    state.showAll = true;
    const button = $("#try-btn");
    button.disabled = true;
    const box = $("#try-result");
    try {
      const problems = await validateNow();
      if (problems.length) {
        box.hidden = false;
        box.replaceChildren(el("p", { class: "banner bad", text: "规则还有问题（已在表单中标红），修正后再试算。" }));
        return;
      }
      box.hidden = false;
      box.replaceChildren(el("p", { class: "muted", text: "试算中：在 Spark 中读取真实特征数据并计算。第一次试算要先启动 Spark，可能需要一分钟左右。" }),
        el("div", { class: "progress" }, el("div")));
      const size = Math.max(1, Math.min(Number($("#sample-size").value) || 20, state.form.max_sample));
      const result = await api("/try", { method: "POST", body: {
        rule: state.rule, tag_id: state.editing.tag ? state.editing.tag.tag_id : null,
        today: $("#today").value || null, sample_size: size,
      } });
      renderTry(result);
    } catch (error) {
      const detail = error.body && error.body.detail;
      if (detail && detail.problems && detail.problems.length) { state.problems = detail.problems; showProblems(); }
      box.replaceChildren(el("p", { class: "banner bad", text: `试算失败：${error.message}` }));
    } finally {
      button.disabled = false;
    }
  }

  // ---------------------------------------------------------------- save, switch

  async function save() {
    state.showAll = true;
    clearFieldErrors();
    $("#editor-banner").hidden = true;
    const name = $("#f-tag_name").value.trim();
    if (!name) { setFieldError("tag_name", "请填写标签名称。"); return; }
    const typedId = $("#f-tag_id").value.trim();
    if (state.editing.create && typedId && !/^\d+$/.test(typedId)) { setFieldError("tag_id", "标签ID 是正整数，或留空自动分配。"); return; }
    const problems = await validateNow();
    if (problems.length) { banner("规则还有问题（已在表单中标红），没有保存。", true); return; }
    const body = { tag_name: name, category: $("#f-category").value.trim(), description: $("#f-description").value,
      rule: state.rule };
    const button = $("#save-btn");
    button.disabled = true;
    try {
      let answer;
      if (state.editing.create) {
        answer = await api("/tags", { method: "POST", body: { ...body, tag_id: typedId ? Number(typedId) : null,
          is_active: $("#f-is_active").checked } });
      } else {
        answer = await api(`/tags/${state.editing.tag.tag_id}`, { method: "PUT",
          body: { ...body, base_version: state.editing.tag.version } });
      }
      const tag = answer.tag;
      if (answer.changed) {
        state.edited.add(tag.tag_id);
        saveEdited();
        if (tag.is_active) state.selected.add(tag.tag_id);
        notice(`已保存标签 #${tag.tag_id} ${tag.tag_name}${tag.is_active ? "，可在列表中运行" : "（未启用）"}`);
      } else {
        notice("没有改动，无需保存。");
      }
      await loadTags();
      loadAudit();
      await openEditor(tag.tag_id);
    } catch (error) {
      if (error.status !== 401) showWriteError(error);
    } finally {
      button.disabled = false;
    }
  }

  async function switchTag(tag, active) {
    try {
      const answer = await api(`/tags/${tag.tag_id}/${active ? "activate" : "deactivate"}`, {
        method: "POST", body: { base_version: tag.version } });
      if (answer.changed && active) { state.edited.add(tag.tag_id); saveEdited(); state.selected.add(tag.tag_id); }
      notice(`标签 #${tag.tag_id} ${tag.tag_name} 已${active ? "启用" : "停用"}`);
    } catch (error) {
      if (error.status !== 401) notice(`${active ? "启用" : "停用"}失败：${error.message}`, true);
      if (error.status === 409) await loadTags();
      return;
    }
    await loadTags();
    loadAudit();
    if (state.editing && state.editing.tag && state.editing.tag.tag_id === tag.tag_id) openEditor(tag.tag_id);
  }

  // ---------------------------------------------------------------- audit

  function changedKeys(row) {
    if (!row.before) return "新建";
    return AUDIT_KEYS.filter(([key]) => JSON.stringify(row.before[key]) !== JSON.stringify(row.after && row.after[key]))
      .map(([, label]) => label).join("、") || "—";
  }

  function auditTable(rows, withTag) {
    if (!rows.length) return el("p", { class: "muted", text: "还没有变更记录。" });
    const head = el("tr", {}, el("th", { text: "时间" }), withTag ? el("th", { text: "标签" }) : null,
      el("th", { text: "操作" }), el("th", { text: "操作人" }), el("th", { text: "改动" }), el("th", { text: "改前 / 改后" }));
    const columns = withTag ? 6 : 5;
    const body = rows.flatMap((row) => {
      const tagName = (row.after && row.after.tag_name) || (row.before && row.before.tag_name) || "";
      const detail = el("tr", { class: "audit-detail", hidden: true }, el("td", { colspan: columns },
        el("div", { class: "diff" },
          el("div", {}, el("h5", { text: "改前" }), el("pre", { text: row.before ? JSON.stringify(row.before, null, 2) : "（无：新建）" })),
          el("div", {}, el("h5", { text: "改后" }), el("pre", { text: JSON.stringify(row.after, null, 2) })))));
      const toggle = el("button", { type: "button", class: "small", text: "查看", "aria-expanded": "false",
        onclick: () => {
          detail.hidden = !detail.hidden;
          toggle.textContent = detail.hidden ? "查看" : "收起";
          toggle.setAttribute("aria-expanded", String(!detail.hidden));
        } });
      return [el("tr", { "data-audit-id": row.audit_id },
        el("td", { class: "nowrap", text: fmtTime(row.changed_at, true) }),
        withTag ? el("td", { "data-col": "tag", text: `#${row.tag_id} ${tagName}` }) : null,
        el("td", { "data-col": "action", text: ACTION_WORDS[row.action] || row.action }),
        el("td", { "data-col": "actor", text: row.actor }),
        el("td", { text: changedKeys(row) }),
        el("td", {}, toggle)), detail];
    });
    return el("div", { class: "table-wrap" }, el("table", { class: "audit" }, el("thead", {}, head), el("tbody", {}, body)));
  }

  async function loadAudit() {
    try {
      const answer = await api("/audit?limit=50");
      $("#audit-all").replaceChildren(auditTable(answer.rows, true));
    } catch (error) {
      if (error.status !== 401) $("#audit-all").replaceChildren(el("p", { class: "error", text: error.message }));
    }
  }

  async function loadTagAudit(tagId) {
    try {
      const answer = await api(`/audit?tag_id=${tagId}&limit=20`);
      $("#tag-audit").replaceChildren(auditTable(answer.rows, false));
    } catch (error) {
      if (error.status !== 401) $("#tag-audit").replaceChildren(el("p", { class: "error", text: error.message }));
    }
  }

  // ---------------------------------------------------------------- runs

  async function runSelected() {
    const ids = [...state.selected].sort((a, b) => a - b);
    if (!ids.length) return;
    const button = $("#run-selected");
    button.disabled = true;
    try {
      const answer = await api("/runs", { method: "POST", body: { tag_ids: ids, today: $("#today").value || null } });
      for (const id of ids) state.edited.delete(id);
      saveEdited();
      renderTags();
      followRun(answer.task_id, ids);
    } catch (error) {
      if (error.status !== 401) notice(`无法启动运行：${error.message}`, true);
      updateRunButton();
    }
  }

  function followRun(taskId, ids) {
    clearTimeout(state.runTimer);
    state.run = { taskId, ids, since: Date.now() };
    $("#run-panel").hidden = false;
    $("#run-title").textContent = `运行标签 ${ids.map((id) => `#${id}`).join(" ")}`;
    renderRun({ status: "submitted", task_id: taskId });
    $("#run-panel").scrollIntoView({ behavior: "smooth", block: "start" });
    pollRun();
  }

  async function pollRun() {
    const run = state.run;
    if (!run) return;
    try {
      const answer = await api(`/runs/${encodeURIComponent(run.taskId)}`);
      if (state.run !== run) return;
      renderRun(answer.status);
      if (FINAL.has(answer.status.status)) {
        await loadTags();
        loadHistory();
        return;
      }
    } catch (error) {
      if (state.run !== run) return;
      $("#run-problem").textContent = `暂时读不到运行状态（${error.message}），稍后重试…`;
    }
    state.runTimer = setTimeout(pollRun, 2000);
  }

  function renderRun(status) {
    const [word, kind] = RUN_WORDS[status.status] || [status.status, "pending"];
    const badge = $("#run-status");
    badge.textContent = word;
    badge.className = `badge ${kind}`;
    badge.dataset.status = status.status;
    badge.dataset.task = status.task_id;
    const seconds = Math.round((Date.now() - state.run.since) / 1000);
    const parts = [
      el("p", { class: "muted" }, `任务 ${status.task_id}`, " · ", `提交 ${fmtTime(status.submitted_at, true)}`,
        " · ", `开始 ${fmtTime(status.started_at, true)}`, " · ", `结束 ${fmtTime(status.completed_at, true)}`,
        FINAL.has(status.status) ? took(status) : ` · 已等待 ${seconds} 秒`,
        status.ui_url ? el("span", {}, " · ", el("a", { href: status.ui_url, target: "_blank", rel: "noopener noreferrer", text: "在 Dagster 中查看" })) : null),
      FINAL.has(status.status) ? null : el("div", { class: "progress" }, el("div")),
      el("p", { class: "err block", id: "run-problem" }),
    ];
    if (status.error) parts.push(el("p", { class: "banner bad", text: `运行失败：${status.error}` }));
    const result = status.result;
    if (result && status.status === "completed") {
      parts.push(el("div", { class: "figures" },
        figure("评估用户", result.users_evaluated), figure("命中任一所选标签", result.matched_users),
        figure("新写入", result.rows_inserted), figure("更新", result.rows_updated), figure("未变", result.rows_unchanged)));
      if (result.unchanged_since) {
        parts.push(el("p", { class: "muted", text: `输入与 ${result.unchanged_since} 的运行相同，沿用其结果，没有写入。` }));
      }
      const perTag = Array.isArray(result.per_tag) ? result.per_tag : [];
      parts.push(el("div", { class: "table-wrap", "data-testid": "run-per-tag" }, el("table", {},
        el("thead", {}, el("tr", {}, ["标签", "命中用户", "命中率", "新增", "移除"].map((h, i) => el("th", { class: i ? "num" : null, text: h })))),
        el("tbody", {}, perTag.map((row) => el("tr", { "data-tag-id": row.tag_id },
          el("td", { text: `#${row.tag_id} ${row.tag_name || ""}` }),
          el("td", { class: "num", "data-col": "matched", text: fmtInt(row.users_matched) }),
          el("td", { class: "num", text: fmtPct(row.hit_rate) }),
          el("td", { class: "num", text: fmtInt(row.users_added) }),
          el("td", { class: "num", text: fmtInt(row.users_removed) })))))));
      if (result.rule_problems) parts.push(el("pre", { class: "banner bad", text: `被跳过的规则：\n${result.rule_problems}` }));
    }
    $("#run-body").replaceChildren(...parts.filter(Boolean));
  }

  function took(status) {
    if (!status.started_at || !status.completed_at) return "";
    return ` · 用时 ${Math.round((new Date(status.completed_at) - new Date(status.started_at)) / 1000)} 秒`;
  }

  function figure(label, value) {
    return el("div", { class: "figure" }, el("b", { text: fmtInt(value) }), el("span", { text: label }));
  }

  // ---------------------------------------------------------------- wiring

  function wire() {
    $("#key-form").addEventListener("submit", submitKey);
    $("#key-dialog").addEventListener("cancel", (event) => { if (!state.started) event.preventDefault(); });
    $("#change-key").addEventListener("click", () => { sessionStorage.removeItem(KEY_STORE); askKey(""); });
    $("#new-tag").addEventListener("click", () => openEditor(null));
    $("#run-selected").addEventListener("click", runSelected);
    $("#close-editor").addEventListener("click", closeEditor);
    $("#cancel-btn").addEventListener("click", closeEditor);
    $("#save-btn").addEventListener("click", save);
    $("#try-btn").addEventListener("click", tryDraft);
    $("#json-edit").addEventListener("click", openJsonEdit);
    $("#json-apply").addEventListener("click", applyJson);
    $("#json-cancel").addEventListener("click", () => { $("#rule-json-edit").value = ""; closeJsonEdit(); });
    $("#f-tag_id").addEventListener("input", () => { if (state.editing && state.editing.create) scheduleValidate(); });
    for (const id of ["f-tag_id", "f-tag_name", "f-category", "f-description"]) {
      $(`#${id}`).addEventListener("input", () => {
        const span = document.querySelector(`#editor [data-err="field:${id.slice(2)}"]`);
        if (span) span.replaceChildren();
        $(`#${id}`).classList.remove("invalid");
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    wire();
    start().catch((error) => {
      if (error.status !== 401) notice(`页面载入失败：${error.message}`, true);
    });
  });
})();
