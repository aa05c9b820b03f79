// The platform's entries of the properties panel, one component per field (Preact, JSX).
// Every label is Italian; values are written where the engine reads them (see model.js).
import { useEffect, useState } from '@bpmn-io/properties-panel/preact/hooks';
import {
  CheckboxEntry,
  SelectEntry,
  TextAreaEntry,
  TextFieldEntry,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import {
  bodyValue,
  diagramMessages,
  eventDefinition,
  messageHolder,
  propertyValue,
  setBodyValue,
  setProperties,
  pointAtMessage,
} from './model';

const FORM = 'formJsonSchemaFilename';
const UI = 'formUiSchemaFilename';
const UNKNOWN = '__sconosciuto__';
export const TIMER_KINDS = { timeDate: 'date', timeDuration: 'duration', timeCycle: 'cycle' };

/** A lane name as the engine compares it (no accents, lower case, other characters as «_»). */
export function normalName(text) {
  return (text || '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

function get(url, params) {
  const query = new URLSearchParams(params).toString();
  return fetch(`${url}?${query}`, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)));
}

// --------------------------------------------------------------------------- readings

/** The server's plain-Italian reading of a timer or due-time value, refreshed (debounced) as it changes. */
export function TimerReading({ kind, value }) {
  const config = useService('inlavConfig');
  const [reading, setReading] = useState({ ok: true, text: '' });
  useEffect(() => {
    let live = true;
    const timer = setTimeout(() => {
      get(config.urls.timer, { tipo: kind, valore: value || '' })
        .then((answer) => live && setReading(answer))
        .catch(() => live && setReading({ ok: false, text: config.text.offline }));
    }, 250);
    return () => { live = false; clearTimeout(timer); };
  }, [kind, value]);
  return (
    <span class={reading.ok ? 'app-timer-reading' : 'app-timer-reading app-timer-invalid'} data-timer-reading aria-live="polite">
      {reading.text}
    </span>
  );
}

// --------------------------------------------------------------------------- lane → role

export function RoleEntry({ element, id }) {
  const modeling = useService('modeling');
  const config = useService('inlavConfig');
  const roles = config.choices.roles;
  const name = getBusinessObject(element).name || '';
  const match = roles.find((role) => role.names.includes(normalName(name)));
  const getValue = () => (match ? match.code : name ? UNKNOWN : '');
  const getOptions = () => [
    ...(match ? [] : [{ value: name ? UNKNOWN : '', label: name ? `«${name}»: nessun ruolo` : '— scegliere un ruolo —' }]),
    ...roles.map((role) => ({ value: role.code, label: role.label })),
  ];
  const setValue = (code) => {
    const role = roles.find((candidate) => candidate.code === code);
    if (role) modeling.updateProperties(element, { name: role.label });
  };
  return (
    <SelectEntry
      id={id}
      element={element}
      label="Ruolo"
      description="Le attività della corsia vanno alle persone con questo ruolo nell'Ambito; la corsia prende il nome del ruolo."
      getValue={getValue}
      setValue={setValue}
      getOptions={getOptions}
    />
  );
}

// --------------------------------------------------------------------------- user task

export function FormEntry({ element, id }) {
  const injector = useService('injector');
  const config = useService('inlavConfig');
  const bo = getBusinessObject(element);
  const forms = config.choices.forms;
  const current = propertyValue(bo, FORM);
  const getOptions = () => [
    { value: '', label: '— nessun modulo —' },
    ...forms.map((form) => ({ value: form.schema, label: `${form.title} (${form.schema})` })),
    ...(current && !forms.some((form) => form.schema === current)
      ? [{ value: current, label: `${current} (non è nella bozza)` }]
      : []),
  ];
  const setValue = (schema) => {
    const form = forms.find((candidate) => candidate.schema === schema);
    setProperties(injector, element, { [FORM]: schema, [UI]: form ? form.ui : '' });
  };
  const description = (
    <span>
      Il modulo che compila chi svolge l'attività.{' '}
      <a href={config.urls.forms} target="_blank" rel="noopener" data-new-form>Crea un nuovo modulo</a>
      {' '}(si apre in una nuova scheda; poi ricaricare questa pagina per sceglierlo).
    </span>
  );
  return (
    <SelectEntry
      id={id}
      element={element}
      label="Modulo"
      description={description}
      getValue={() => current}
      setValue={setValue}
      getOptions={getOptions}
    />
  );
}

export function DueEntry({ element, id }) {
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const value = propertyValue(getBusinessObject(element), 'dueIn');
  return (
    <TextFieldEntry
      id={id}
      element={element}
      label="Scadenza (durata ISO 8601)"
      description={<TimerReading kind="due" value={value} />}
      getValue={() => value}
      setValue={(text) => setProperties(injector, element, { dueIn: (text || '').trim() })}
      debounce={debounce}
    />
  );
}

/** A text kept in a spiffworkflow body element (instructions, pre-/post-script, payload…). */
function BodyEntry({ element, id, holder, type, label, description, monospace, rows }) {
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return (
    <TextAreaEntry
      id={id}
      element={element}
      label={label}
      description={description}
      monospace={monospace}
      rows={rows || 4}
      getValue={() => bodyValue(holder, type)}
      setValue={(text) => setBodyValue(injector, element, holder, type, text)}
      debounce={debounce}
    />
  );
}

export function InstructionsEntry({ element, id }) {
  return (
    <BodyEntry
      element={element}
      id={id}
      holder={getBusinessObject(element)}
      type="spiffworkflow:InstructionsForEndUser"
      label="Istruzioni per chi svolge l'attività"
      description="Testo in Markdown; {{ nome_campo }} inserisce un dato del caso, {% if … %} … {% endif %} una parte condizionale."
      rows={5}
    />
  );
}

export function InstructionsPreview({ element, id }) {
  const config = useService('inlavConfig');
  const bo = getBusinessObject(element);
  const [state, setState] = useState({ html: '', problem: '', busy: false });
  const show = () => {
    setState({ html: '', problem: '', busy: true });
    const body = new URLSearchParams({
      csrf_token: config.csrf,
      testo: bodyValue(bo, 'spiffworkflow:InstructionsForEndUser'),
      modulo: propertyValue(bo, FORM),
    });
    fetch(config.urls.preview, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': config.csrf, Accept: 'application/json' },
      body,
    })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((answer) => setState({ html: answer.html || '', problem: answer.problem || '', busy: false }))
      .catch(() => setState({ html: '', problem: config.text.offline, busy: false }));
  };
  return (
    <div class="bio-properties-panel-entry app-preview-entry" data-entry-id={id}>
      <button type="button" class="bio-properties-panel-add-entry app-panel-button" onClick={show} data-preview-instructions>
        Anteprima
      </button>
      <div class="bio-properties-panel-description">
        Le istruzioni come le vede l'operatore, con dati di esempio presi dai moduli della bozza.
      </div>
      <div class="app-instructions-preview" data-instructions-preview aria-live="polite">
        {state.busy ? 'Anteprima in corso…' : null}
        {state.problem ? <p class="app-preview-problem">{state.problem}</p> : null}
        {state.html ? <div class="app-instructions" dangerouslySetInnerHTML={{ __html: state.html }} /> : null}
      </div>
    </div>
  );
}

export function PreScriptEntry({ element, id }) {
  return (
    <BodyEntry element={element} id={id} holder={getBusinessObject(element)} type="spiffworkflow:PreScript"
      label="Script prima dell'attività" monospace rows={6}
      description="Python, eseguito quando l'attività si apre (prepara i dati che il modulo mostra)." />
  );
}

export function PostScriptEntry({ element, id }) {
  return (
    <BodyEntry element={element} id={id} holder={getBusinessObject(element)} type="spiffworkflow:PostScript"
      label="Script dopo l'attività" monospace rows={6}
      description="Python, eseguito quando l'attività è completata." />
  );
}

// --------------------------------------------------------------------------- script task

export function ScriptEntry({ element, id }) {
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  const bo = getBusinessObject(element);
  return (
    <TextAreaEntry
      id={id}
      element={element}
      label="Script (Python)"
      description="Legge e scrive i dati del caso come variabili; solo le funzioni consentite dalla piattaforma."
      monospace
      rows={10}
      getValue={() => bo.get('script') || ''}
      setValue={(text) => modeling.updateProperties(element, { script: text || undefined, scriptFormat: text ? 'python' : undefined })}
      debounce={debounce}
    />
  );
}

// --------------------------------------------------------------------------- gateway flows

export function ConditionEntry({ element, id }) {
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput');
  const bo = getBusinessObject(element);
  const source = element.source;
  const isDefault = source && getBusinessObject(source).get('default') === bo;
  const setValue = (text) => {
    const expression = bo.get('conditionExpression');
    if (!text || !text.trim()) {
      modeling.updateProperties(element, { conditionExpression: undefined });
    } else if (expression) {
      modeling.updateModdleProperties(element, expression, { body: text });
    } else {
      modeling.updateProperties(element, { conditionExpression: bpmnFactory.create('bpmn:FormalExpression', { body: text }) });
    }
  };
  return (
    <TextAreaEntry
      id={id}
      element={element}
      label="Condizione (espressione Python)"
      description={isDefault
        ? 'È il percorso predefinito: si segue quando nessun\'altra condizione è vera, quindi non ha condizione.'
        : 'Il percorso si segue quando l\'espressione è vera, es. esito == \'approvato\'.'}
      monospace
      rows={3}
      getValue={() => (bo.get('conditionExpression') && bo.get('conditionExpression').get('body')) || ''}
      setValue={setValue}
      debounce={debounce}
    />
  );
}

export function DefaultFlowEntry({ element, id }) {
  const modeling = useService('modeling');
  const bo = getBusinessObject(element);
  const source = element.source;
  return (
    <CheckboxEntry
      id={id}
      element={element}
      label="Percorso predefinito (quando nessuna condizione è vera)"
      getValue={() => getBusinessObject(source).get('default') === bo}
      setValue={(checked) => {
        if (checked && bo.get('conditionExpression')) modeling.updateProperties(element, { conditionExpression: undefined });
        modeling.updateProperties(source, { default: checked ? bo : undefined });
      }}
    />
  );
}

// --------------------------------------------------------------------------- timers

function timerProperty(definition) {
  return Object.keys(TIMER_KINDS).find((name) => definition.get(name)) || '';
}

export function TimerTypeEntry({ element, id }) {
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const definition = eventDefinition(element, 'bpmn:TimerEventDefinition');
  const current = timerProperty(definition);
  const setValue = (name) => {
    const old = current ? definition.get(current) : null;
    const body = old ? old.get('body') : '';
    const properties = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
    if (name) properties[name] = bpmnFactory.create('bpmn:FormalExpression', { body });
    modeling.updateModdleProperties(element, definition, properties);
  };
  return (
    <SelectEntry
      id={id}
      element={element}
      label="Tipo di timer"
      getValue={() => current}
      setValue={setValue}
      getOptions={() => [
        ...(current ? [] : [{ value: '', label: '— scegliere —' }]),
        { value: 'timeDate', label: 'Data (un momento preciso)' },
        { value: 'timeDuration', label: 'Durata (dopo quanto tempo)' },
        { value: 'timeCycle', label: 'Ripetizione (ogni quanto)' },
      ]}
    />
  );
}

export function TimerValueEntry({ element, id }) {
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput');
  const definition = eventDefinition(element, 'bpmn:TimerEventDefinition');
  const name = timerProperty(definition) || 'timeDuration';
  const expression = definition.get(name);
  const value = (expression && expression.get('body')) || '';
  const setValue = (text) => {
    if (expression) {
      modeling.updateModdleProperties(element, expression, { body: text || '' });
    } else {
      modeling.updateModdleProperties(element, definition, { [name]: bpmnFactory.create('bpmn:FormalExpression', { body: text || '' }) });
    }
  };
  return (
    <TextFieldEntry
      id={id}
      element={element}
      label="Valore (ISO 8601 tra virgolette, o un'espressione)"
      description={<TimerReading kind={TIMER_KINDS[name]} value={value} />}
      getValue={() => value}
      setValue={setValue}
      debounce={debounce}
    />
  );
}

// --------------------------------------------------------------------------- messages

export function MessageEntry({ element, id }) {
  const injector = useService('injector');
  const config = useService('inlavConfig');
  const holder = messageHolder(element);
  const current = (holder.get('messageRef') && holder.get('messageRef').name) || '';
  const names = new Set([...diagramMessages(element).map((m) => m.name).filter(Boolean), ...config.choices.messages.map((m) => m.value)]);
  return (
    <SelectEntry
      id={id}
      element={element}
      label="Messaggio"
      description="Il nome con cui il messaggio arriva o parte; i messaggi degli altri diagrammi della bozza sono nell'elenco."
      getValue={() => current}
      setValue={(name) => pointAtMessage(injector, element, name)}
      getOptions={() => [{ value: '', label: '— nessun messaggio —' }, ...[...names].sort().map((name) => ({ value: name, label: name }))]}
    />
  );
}

export function NewMessageEntry({ element, id }) {
  const injector = useService('injector');
  const [name, setName] = useState('');
  const valid = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
  const create = () => { if (valid) { pointAtMessage(injector, element, name); setName(''); } };
  return (
    <div class="bio-properties-panel-entry" data-entry-id={id}>
      <label class="bio-properties-panel-label" for={`bio-properties-panel-${id}`}>Nuovo messaggio</label>
      <div class="app-panel-row">
        <input id={`bio-properties-panel-${id}`} class="bio-properties-panel-input" type="text" value={name}
          spellcheck={false} autocomplete="off"
          onInput={(event) => setName(event.target.value.trim())}
          onKeyDown={(event) => { if (event.key === 'Enter') { event.preventDefault(); create(); } }} />
        <button type="button" class="app-panel-button" onClick={create} disabled={!valid}>Crea e usa</button>
      </div>
      <div class="bio-properties-panel-description">Lettere, cifre e «_», es. risposta_partner.</div>
    </div>
  );
}

export function PayloadEntry({ element, id }) {
  const holder = is(element, 'bpmn:SendTask') ? getBusinessObject(element) : messageHolder(element);
  return (
    <BodyEntry element={element} id={id} holder={holder} type="spiffworkflow:MessagePayload"
      label="Contenuto inviato (espressione Python)" monospace rows={2}
      description="Il valore che parte con il messaggio, es. richiesta_partner." />
  );
}

export function VariableEntry({ element, id }) {
  const holder = is(element, 'bpmn:ReceiveTask') ? getBusinessObject(element) : messageHolder(element);
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return (
    <TextFieldEntry
      id={id}
      element={element}
      label="Variabile che riceve il contenuto"
      description="Il contenuto del messaggio arrivato finisce nei dati del caso con questo nome."
      getValue={() => bodyValue(holder, 'spiffworkflow:MessageVariable')}
      setValue={(text) => setBodyValue(injector, element, holder, 'spiffworkflow:MessageVariable', (text || '').trim())}
      debounce={debounce}
    />
  );
}

export function CorrelationEntry({ element, id }) {
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return (
    <TextFieldEntry
      id={id}
      element={element}
      label="Chiave di correlazione (espressione Python)"
      description="Lega il messaggio al caso giusto, es. intervento['id']: chi risponde cita lo stesso valore."
      getValue={() => propertyValue(getBusinessObject(element), 'correlationKey')}
      setValue={(text) => setProperties(injector, element, { correlationKey: (text || '').trim() })}
      debounce={debounce}
    />
  );
}

// --------------------------------------------------------------------------- calls and decisions

export function CalledProcessEntry({ element, id }) {
  const modeling = useService('modeling');
  const config = useService('inlavConfig');
  const bo = getBusinessObject(element);
  const current = bo.get('calledElement') || '';
  const processes = config.choices.processes;
  return (
    <SelectEntry
      id={id}
      element={element}
      label="Processo chiamato"
      description="Il processo che parte qui e deve finire prima che questo prosegua (la versione che l'Ambito usa al momento)."
      getValue={() => current}
      setValue={(value) => modeling.updateProperties(element, { calledElement: value || undefined })}
      getOptions={() => [
        { value: '', label: '— scegliere un processo —' },
        ...processes.map((process) => ({ value: process.value, label: `${process.label} (${process.value})` })),
        ...(current && !processes.some((process) => process.value === current)
          ? [{ value: current, label: `${current} (non disponibile)` }]
          : []),
      ]}
    />
  );
}

export function DecisionEntry({ element, id }) {
  const injector = useService('injector');
  const config = useService('inlavConfig');
  const bo = getBusinessObject(element);
  const current = bodyValue(bo, 'spiffworkflow:CalledDecisionId');
  const decisions = config.choices.decisions;
  return (
    <SelectEntry
      id={id}
      element={element}
      label="Decisione (tabella DMN)"
      description="La tabella che calcola i valori; i suoi risultati diventano dati del caso."
      getValue={() => current}
      setValue={(value) => setBodyValue(injector, element, bo, 'spiffworkflow:CalledDecisionId', value)}
      getOptions={() => [
        { value: '', label: '— scegliere una decisione —' },
        ...decisions.map((decision) => ({ value: decision.value, label: `${decision.label} (${decision.value})` })),
        ...(current && !decisions.some((decision) => decision.value === current)
          ? [{ value: current, label: `${current} (non è nella bozza)` }]
          : []),
      ]}
    />
  );
}

