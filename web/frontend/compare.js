// The studio's comparison of two versions of a process: both diagrams side by side (bpmn-js
// navigated viewers), the differences found by bpmn-js-differ marked on them and listed by
// element. Bundled by scripts/vendor_static.py into /static/vendor/app/compare.js; the page
// (web/templates/studio/compare.html) holds the containers and data attributes it reads.
//
// bpmn-js-differ tells which elements were added, removed, changed or only moved, matching
// them by id; for a changed element it names the BPMN attributes that differ, but it does
// not say what changed inside nested elements (a condition's expression, the spiffworkflow
// extension elements: scripts, form properties, instructions), it does not see a timer's
// expression at all (event definitions are not tracked), nor lane membership (a reference
// list it skips). So each element both versions hold is also described by its parsed moddle
// properties (`facets` below) and the two descriptions are compared: that says what changed
// and catches what the differ does not report. No XML text is compared.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { BpmnModdle } from 'bpmn-moddle';
import { diff } from 'bpmn-js-differ';

import spiffworkflow from './moddle/spiffworkflow.json';

const KIND_LABELS = {
  added: 'aggiunto',
  removed: 'tolto',
  changed: 'modificato',
  moved: 'spostato',
};
const KIND_SIGNS = { added: '+', removed: '−', changed: '±', moved: '↔' };
const KIND_ORDER = ['added', 'changed', 'removed', 'moved'];

const TYPES = {
  'bpmn:Task': 'attività',
  'bpmn:UserTask': 'attività utente',
  'bpmn:ManualTask': 'attività manuale',
  'bpmn:ScriptTask': 'attività script',
  'bpmn:ServiceTask': 'attività automatica',
  'bpmn:BusinessRuleTask': 'attività di decisione (DMN)',
  'bpmn:SendTask': 'attività di invio messaggio',
  'bpmn:ReceiveTask': 'attività di attesa messaggio',
  'bpmn:CallActivity': 'chiamata di processo',
  'bpmn:SubProcess': 'sottoprocesso',
  'bpmn:Transaction': 'transazione',
  'bpmn:SequenceFlow': 'flusso',
  'bpmn:MessageFlow': 'flusso di messaggi',
  'bpmn:ExclusiveGateway': 'gateway esclusivo',
  'bpmn:InclusiveGateway': 'gateway inclusivo',
  'bpmn:ParallelGateway': 'gateway parallelo',
  'bpmn:EventBasedGateway': 'gateway basato su eventi',
  'bpmn:ComplexGateway': 'gateway complesso',
  'bpmn:StartEvent': 'evento di inizio',
  'bpmn:EndEvent': 'evento di fine',
  'bpmn:IntermediateCatchEvent': 'evento intermedio (attesa)',
  'bpmn:IntermediateThrowEvent': 'evento intermedio (invio)',
  'bpmn:BoundaryEvent': 'evento di bordo',
  'bpmn:Lane': 'corsia',
  'bpmn:Participant': 'partecipante',
  'bpmn:Process': 'processo',
  'bpmn:DataObjectReference': 'oggetto dati',
  'bpmn:DataStoreReference': 'archivio dati',
  'bpmn:DataInputAssociation': 'associazione di dati',
  'bpmn:DataOutputAssociation': 'associazione di dati',
};

const FACETS = {
  type: 'tipo',
  name: 'nome',
  lane: 'corsia',
  source: 'origine del flusso',
  target: 'destinazione del flusso',
  condition: 'condizione',
  isDefault: 'flusso predefinito del gateway',
  script: 'script',
  preScript: 'script prima dell\'attività',
  postScript: 'script dopo l\'attività',
  form: 'modulo',
  formUi: 'impaginazione del modulo',
  properties: 'altre proprietà',
  instructions: 'istruzioni per l\'operatore',
  decision: 'decisione chiamata (DMN)',
  calledElement: 'processo chiamato',
  timer: 'timer',
  events: 'definizione dell\'evento',
  attachedTo: 'attività a cui è agganciato',
  cancelActivity: 'interrompe l\'attività',
  documentation: 'documentazione',
  messagePayload: 'contenuto del messaggio',
  messageVariable: 'variabile del messaggio',
  loop: 'ripetizione (multi-istanza)',
};
// The differ's attribute names that a facet already explains (its values are not shown:
// they are the facets' job).
const COVERED = new Set([
  'name', 'conditionExpression', 'script', 'extensionElements', 'eventDefinitions', 'sourceRef',
  'targetRef', 'default', 'documentation', 'calledElement', 'attachedToRef', 'cancelActivity',
  'loopCharacteristics', 'incoming', 'outgoing', 'flowNodeRef', 'processRef',
]);
const TIMER_KINDS = { timeDuration: 'durata', timeDate: 'data', timeCycle: 'ciclo' };
const SPIFF = 'spiffworkflow:';

/** Every element of a definitions tree worth comparing, by id (flow elements, lanes, participants). */
function collect(definitions) {
  const elements = new Map();
  const lanes = new Map();
  function visitLanes(laneSet) {
    for (const lane of (laneSet && laneSet.lanes) || []) {
      elements.set(lane.id, lane);
      for (const node of lane.flowNodeRef || []) lanes.set(node.id, lane.name || lane.id);
      visitLanes(lane.childLaneSet);
    }
  }
  function visit(container) {
    for (const laneSet of container.laneSets || []) visitLanes(laneSet);
    for (const element of container.flowElements || []) {
      if (element.id) elements.set(element.id, element);
      if (element.flowElements) visit(element);
    }
  }
  for (const root of definitions.rootElements || []) {
    if (root.$type === 'bpmn:Process') visit(root);
    if (root.$type === 'bpmn:Collaboration') {
      for (const participant of root.participants || []) elements.set(participant.id, participant);
      for (const flow of root.messageFlows || []) elements.set(flow.id, flow);
    }
  }
  return { elements, lanes };
}

function text(value) {
  return value === undefined || value === null ? '' : String(value).trim();
}

function extension(element, type) {
  const values = (element.extensionElements && element.extensionElements.values) || [];
  return values.filter((value) => value.$type === SPIFF + type);
}

/** What a person reads of an element, from its parsed moddle properties. */
function facets(element, lanes) {
  const out = { type: element.$type, name: text(element.name) };
  if (lanes.has(element.id)) out.lane = lanes.get(element.id);
  if (element.sourceRef) out.source = element.sourceRef.id;
  if (element.targetRef) out.target = element.targetRef.id;
  if (element.conditionExpression) out.condition = text(element.conditionExpression.body);
  if (element.$type === 'bpmn:SequenceFlow' && element.sourceRef && element.sourceRef.default === element) {
    out.isDefault = 'sì';
  }
  if (element.script !== undefined) out.script = text(element.script);
  for (const [key, type] of [
    ['preScript', 'PreScript'], ['postScript', 'PostScript'], ['instructions', 'InstructionsForEndUser'],
    ['decision', 'CalledDecisionId'], ['messagePayload', 'MessagePayload'], ['messageVariable', 'MessageVariable'],
  ]) {
    const found = extension(element, type).map((value) => text(value.value)).join('\n');
    if (found) out[key] = found;
  }
  const properties = extension(element, 'Properties').flatMap((value) => value.properties || []);
  const others = [];
  for (const property of properties) {
    if (property.name === 'formJsonSchemaFilename') out.form = text(property.value);
    else if (property.name === 'formUiSchemaFilename') out.formUi = text(property.value);
    else others.push(`${property.name} = ${text(property.value)}`);
  }
  if (others.length) out.properties = others.sort().join('; ');
  if (element.calledElement) out.calledElement = text(element.calledElement);
  if (element.attachedToRef) out.attachedTo = element.attachedToRef.id;
  if (element.$type === 'bpmn:BoundaryEvent') out.cancelActivity = element.cancelActivity === false ? 'no' : 'sì';
  const definitions = element.eventDefinitions || [];
  const timers = [];
  const events = [];
  for (const definition of definitions) {
    if (definition.$type === 'bpmn:TimerEventDefinition') {
      for (const [key, label] of Object.entries(TIMER_KINDS)) {
        if (definition[key]) timers.push(`${label}: ${text(definition[key].body)}`);
      }
    } else {
      const ref = definition.messageRef || definition.signalRef || definition.errorRef || definition.escalationRef;
      events.push(definition.$type.replace('bpmn:', '') + (ref ? ` (${text(ref.name || ref.id)})` : ''));
    }
  }
  if (timers.length) out.timer = timers.join('; ');
  if (events.length) out.events = events.join('; ');
  const documentation = (element.documentation || []).map((d) => text(d.text)).join('\n');
  if (documentation) out.documentation = documentation;
  if (element.loopCharacteristics) {
    const loop = element.loopCharacteristics;
    out.loop = `${loop.isSequential ? 'in sequenza' : 'in parallelo'} ${text(loop.loopCardinality && loop.loopCardinality.body)}`.trim();
  }
  return out;
}

function short(value) {
  const shown = text(value);
  if (!shown) return '(nessuno)';
  return '«' + (shown.length > 160 ? shown.slice(0, 157) + '…' : shown) + '»';
}

/** What changed in a multi-line text (a script): the lines it gained and lost, not the whole text. */
function lines(before, after) {
  if (!text(before)) return 'aggiunto — ' + short(after);
  if (!text(after)) return 'tolto';
  const old = text(before).split('\n').map((line) => line.trim()).filter(Boolean);
  const now = text(after).split('\n').map((line) => line.trim()).filter(Boolean);
  const gained = now.filter((line) => !old.includes(line));
  const lost = old.filter((line) => !now.includes(line));
  const parts = [];
  if (gained.length) parts.push('righe aggiunte ' + gained.map(short).join(', '));
  if (lost.length) parts.push('righe tolte ' + lost.map(short).join(', '));
  return 'modificato' + (parts.length ? ' — ' + parts.join('; ') : ' (ordine o spazi delle righe)');
}

/** Italian sentences for the facets that differ, the names of the differing elements made readable. */
function describe(before, after, nameOf) {
  const details = [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of Object.keys(FACETS)) {
    if (!keys.has(key) || text(before[key]) === text(after[key])) continue;
    const label = FACETS[key];
    if (key === 'type') {
      details.push(`${label}: ${TYPES[before.type] || before.type} → ${TYPES[after.type] || after.type}`);
    } else if (['source', 'target', 'attachedTo'].includes(key)) {
      details.push(`${label}: ${short(nameOf(before[key]))} → ${short(nameOf(after[key]))}`);
    } else if (['script', 'preScript', 'postScript', 'instructions', 'documentation'].includes(key)) {
      details.push(`${label}: ${lines(before[key], after[key])}`);
    } else {
      details.push(`${label}: ${short(before[key])} → ${short(after[key])}`);
    }
  }
  return details;
}

function typeLabel(element) {
  return TYPES[element.$type] || 'elemento';
}

/** The list of differences, one entry per element: {id, name, type, kind, details}. */
export function differences(oldDefinitions, newDefinitions) {
  const changes = diff(oldDefinitions, newDefinitions);
  const before = collect(oldDefinitions);
  const after = collect(newDefinitions);
  const nameOf = (id) => {
    const element = after.elements.get(id) || before.elements.get(id);
    return element ? text(element.name) || id : id;
  };
  const entries = new Map();
  function entry(id, kind, element, details) {
    let name = text(element.name);
    if (!name && element.sourceRef && element.targetRef) {
      name = `${nameOf(element.sourceRef.id)} → ${nameOf(element.targetRef.id)}`; // an unnamed flow: its ends
    }
    entries.set(id, { id, name: name || id, type: typeLabel(element), kind, details });
  }
  for (const id of Object.keys(changes._added)) {
    const element = after.elements.get(id) || changes._added[id];
    const seen = facets(element, after.lanes);
    const details = [];
    if (seen.lane) details.push(`corsia: ${short(seen.lane)}`);
    if (seen.form) details.push(`modulo: ${short(seen.form)}`);
    if (seen.condition) details.push(`condizione: ${short(seen.condition)}`);
    if (seen.timer) details.push(`timer: ${short(seen.timer)}`);
    if (seen.source && seen.target) details.push(`da ${short(nameOf(seen.source))} a ${short(nameOf(seen.target))}`);
    entry(id, 'added', element, details);
  }
  for (const id of Object.keys(changes._removed)) {
    entry(id, 'removed', before.elements.get(id) || changes._removed[id], []);
  }
  // Elements both versions hold: what the differ flags, and what the facets tell apart.
  for (const [id, element] of after.elements) {
    const old = before.elements.get(id);
    if (!old || entries.has(id)) continue;
    const details = describe(facets(old, before.lanes), facets(element, after.lanes), nameOf);
    const flagged = changes._changed[id];
    if (flagged) {
      const other = Object.keys(flagged.attrs).map((attr) => attr.split(/[.[]/)[0]).filter((attr) => !COVERED.has(attr));
      if (other.length) details.push(`altre proprietà: ${[...new Set(other)].join(', ')}`);
      if (!details.length) details.push('proprietà interne modificate');
    }
    if (details.length) entry(id, 'changed', element, details);
  }
  for (const id of Object.keys(changes._layoutChanged)) {
    if (entries.has(id) || !after.elements.has(id)) continue;
    entry(id, 'moved', after.elements.get(id), ['solo la posizione nel disegno']);
  }
  return [...entries.values()].sort(
    (a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.name.localeCompare(b.name, 'it'),
  );
}

// --------------------------------------------------------------------------- the page

function fetchText(url) {
  return fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/plain' } }).then((response) => {
    if (!response.ok) throw new Error('HTTP ' + response.status);
    return response.text();
  });
}

function say(box, message, failed) {
  const status = box.querySelector('[data-compare-status]');
  if (!status) return;
  status.textContent = message;
  status.classList.toggle('app-diagram-error', !!failed);
}

/** Colour and badge each changed element (the badge carries the sign, so colour is never alone). */
function mark(viewer, item) {
  const registry = viewer.get('elementRegistry');
  const shape = registry.get(item.id);
  if (!shape) return;
  viewer.get('canvas').addMarker(item.id, 'app-diff-' + item.kind);
  const badge = document.createElement('span');
  badge.className = 'app-diff-badge app-diff-badge-' + item.kind;
  badge.textContent = KIND_SIGNS[item.kind];
  badge.title = KIND_LABELS[item.kind];
  const position = shape.waypoints ? { top: -12, left: -12 } : { top: -10, right: 10 };
  viewer.get('overlays').add(item.id, 'app-diff', { position, html: badge });
}

function bounds(shape) {
  if (!shape.waypoints) return shape;
  const xs = shape.waypoints.map((p) => p.x);
  const ys = shape.waypoints.map((p) => p.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}

/** Select an element and bring it to the middle of a viewer, if the viewer holds it. */
function focus(viewer, id) {
  const shape = viewer.get('elementRegistry').get(id);
  const selection = viewer.get('selection');
  if (!shape) {
    selection.select(null);
    return false;
  }
  selection.select(shape);
  const canvas = viewer.get('canvas');
  const box = canvas.viewbox();
  const b = bounds(shape);
  canvas.viewbox({
    x: b.x + b.width / 2 - box.width / 2,
    y: b.y + b.height / 2 - box.height / 2,
    width: box.width,
    height: box.height,
  });
  return true;
}

/** Keep the two viewers on the same zoom and position while `enabled()` (the diagrams share coordinates). */
function synchronize(viewers, enabled) {
  let busy = false;
  viewers.forEach((viewer, index) => {
    const other = viewers[1 - index];
    viewer.on('canvas.viewbox.changed', (event) => {
      if (busy || !enabled()) return;
      const { x, y, width, height } = event.viewbox;
      const current = other.get('canvas').viewbox();
      const near = (a, b) => Math.abs(a - b) < 0.5;
      if (near(current.x, x) && near(current.y, y) && near(current.width, width)) return;
      busy = true;
      try {
        other.get('canvas').viewbox({ x, y, width, height });
      } finally {
        busy = false;
      }
    });
  });
}

function renderList(root, items, viewers) {
  const list = root.querySelector('[data-compare-list]');
  const template = root.querySelector('[data-compare-item]');
  if (list) list.replaceChildren();
  for (const item of list && template ? items : []) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.setAttribute('data-element', item.id);
    node.setAttribute('data-change', item.kind);
    node.querySelector('[data-sign]').textContent = KIND_SIGNS[item.kind];
    node.querySelector('[data-kind]').textContent = KIND_LABELS[item.kind];
    node.querySelector('[data-type]').textContent = item.type;
    node.querySelector('[data-name]').textContent = item.name;
    node.querySelector('[data-id]').textContent = item.id;
    const details = node.querySelector('[data-details]');
    for (const line of item.details) {
      const li = document.createElement('li');
      li.textContent = line;
      details.appendChild(li);
    }
    if (!item.details.length) details.remove();
    list.appendChild(node);
  }
  root.querySelectorAll('[data-compare-summary]').forEach((summary) => {
    const counts = KIND_ORDER.map((kind) => [kind, items.filter((i) => i.kind === kind).length]).filter(([, n]) => n);
    summary.textContent = counts.length
      ? counts.map(([kind, n]) => `${n} ${KIND_LABELS[kind]}`).join(', ')
      : root.getAttribute('data-text-none');
  });
  root.toggleAttribute('data-diagrams-identical', !items.length);
}

function wireSelection(root, viewers, sync) {
  root.addEventListener('click', (event) => {
    const button = event.target.closest('[data-select-element]');
    if (!button) return;
    const id = button.closest('[data-element]').getAttribute('data-element');
    const wasSync = sync.checked;
    sync.checked = false; // each diagram centres on its own copy of the element
    const found = viewers.map((viewer) => focus(viewer, id));
    sync.checked = wasSync;
    root.querySelectorAll('[data-element].app-diff-current').forEach((n) => n.classList.remove('app-diff-current'));
    button.closest('[data-element]').classList.add('app-diff-current');
    const where = found[0] && found[1] ? 'both' : found[1] ? 'new' : found[0] ? 'old' : 'none';
    say(root, root.getAttribute('data-text-selected-' + where), false);
  });
}

function start(root) {
  const canvases = [...root.querySelectorAll('[data-compare-canvas]')];
  const viewers = canvases.map((container) => new NavigatedViewer({
    container,
    moddleExtensions: { spiffworkflow },
  }));
  const sync = root.querySelector('[data-compare-sync]');
  const urls = canvases.map((container) => container.getAttribute('data-diagram-url'));
  Promise.all(urls.map(fetchText))
    .then((xmls) => Promise.all(viewers.map((viewer, i) => viewer.importXML(xmls[i]))))
    .then(() => {
      const items = differences(viewers[0].getDefinitions(), viewers[1].getDefinitions());
      for (const item of items) {
        // A removed element is drawn only in the older diagram; the others in the newer one
        // (a changed or moved one in both, so each side shows where it was and where it is).
        if (item.kind !== 'added') mark(viewers[0], item);
        if (item.kind !== 'removed') mark(viewers[1], item);
      }
      viewers.forEach((viewer) => viewer.get('canvas').zoom('fit-viewport', 'auto'));
      synchronize(viewers, () => !sync || sync.checked);
      renderList(root, items, viewers);
      wireSelection(root, viewers, sync || { checked: false });
      root.setAttribute('data-compare-ready', 'true');
      say(root, root.getAttribute('data-text-ready'), false);
    })
    .catch((error) => {
      root.setAttribute('data-compare-ready', 'error');
      say(root, root.getAttribute('data-text-error'), true);
      if (window.console) window.console.error(error);
    });
}

/** The differences between two BPMN texts, without drawing them (the page's list, as data). */
async function compareXml(oldXml, newXml) {
  const moddle = new BpmnModdle({ spiffworkflow });
  const [before, after] = await Promise.all([moddle.fromXML(oldXml), moddle.fromXML(newXml)]);
  return differences(before.rootElement, after.rootElement);
}

window.InlavStudio = Object.assign(window.InlavStudio || {}, { compareXml });

document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('[data-compare]').forEach(start);
});
