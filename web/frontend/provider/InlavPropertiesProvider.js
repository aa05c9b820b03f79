// Which of the platform's groups the properties panel shows for each element: what the engine
// executes on it (lane role, form, instructions, scripts, conditions, timers, messages, calls,
// decisions). The default panel's general and documentation groups stay; its timer and
// message groups give way to ours (same data, with the engine's reading and choices).
import { Group } from '@bpmn-io/properties-panel';
import { is } from 'bpmn-js/lib/util/ModelUtil';

import {
  CalledProcessEntry,
  ConditionEntry,
  CorrelationEntry,
  DecisionEntry,
  DefaultFlowEntry,
  DueEntry,
  FormEntry,
  InstructionsEntry,
  InstructionsPreview,
  MessageEntry,
  NewMessageEntry,
  PayloadEntry,
  PostScriptEntry,
  PreScriptEntry,
  RoleEntry,
  ScriptEntry,
  TimerTypeEntry,
  TimerValueEntry,
  VariableEntry,
} from './entries.jsx';
import { eventDefinition, messageHolder, sendsMessage } from './model';

const LOW_PRIORITY = 500;
const REPLACED = new Set(['timer', 'message']);

/** The ids of the platform's groups (they start open). */
export const PLATFORM_GROUPS = [
  'inlav-role', 'inlav-form', 'inlav-instructions', 'inlav-script', 'inlav-decision', 'inlav-call',
  'inlav-condition', 'inlav-timer', 'inlav-message', 'inlav-scripts',
];

function entry(id, element, component) {
  return { id, element, component };
}

function group(id, label, entries) {
  return { id, label, entries, component: Group };
}

/** The platform's groups for one element (empty when the engine reads nothing more on it). */
export function platformGroups(element) {
  const groups = [];
  if (is(element, 'bpmn:Lane')) {
    groups.push(group('inlav-role', 'Ruolo', [entry('inlav-role', element, RoleEntry)]));
  }
  if (is(element, 'bpmn:UserTask')) {
    groups.push(group('inlav-form', 'Modulo e scadenza', [
      entry('inlav-form', element, FormEntry),
      entry('inlav-due', element, DueEntry),
    ]));
  }
  if (is(element, 'bpmn:UserTask') || is(element, 'bpmn:ManualTask')) {
    groups.push(group('inlav-instructions', 'Istruzioni', [
      entry('inlav-instructions', element, InstructionsEntry),
      entry('inlav-instructions-preview', element, InstructionsPreview),
    ]));
  }
  if (is(element, 'bpmn:ScriptTask')) {
    groups.push(group('inlav-script', 'Script', [entry('inlav-script', element, ScriptEntry)]));
  }
  if (is(element, 'bpmn:BusinessRuleTask')) {
    groups.push(group('inlav-decision', 'Decisione', [entry('inlav-decision', element, DecisionEntry)]));
  }
  if (is(element, 'bpmn:CallActivity')) {
    groups.push(group('inlav-call', 'Processo chiamato', [entry('inlav-called', element, CalledProcessEntry)]));
  }
  if (is(element, 'bpmn:SequenceFlow') && element.source
      && (is(element.source, 'bpmn:ExclusiveGateway') || is(element.source, 'bpmn:InclusiveGateway'))) {
    groups.push(group('inlav-condition', 'Condizione', [
      entry('inlav-condition', element, ConditionEntry),
      entry('inlav-default-flow', element, DefaultFlowEntry),
    ]));
  }
  if (is(element, 'bpmn:Event') && eventDefinition(element, 'bpmn:TimerEventDefinition')) {
    groups.push(group('inlav-timer', 'Timer', [
      entry('inlav-timer-type', element, TimerTypeEntry),
      entry('inlav-timer-value', element, TimerValueEntry),
    ]));
  }
  if (messageHolder(element)) {
    const entries = [entry('inlav-message', element, MessageEntry), entry('inlav-message-new', element, NewMessageEntry)];
    entries.push(sendsMessage(element)
      ? entry('inlav-message-payload', element, PayloadEntry)
      : entry('inlav-message-variable', element, VariableEntry));
    entries.push(entry('inlav-correlation', element, CorrelationEntry));
    groups.push(group('inlav-message', 'Messaggio', entries));
  }
  if (is(element, 'bpmn:Task') || is(element, 'bpmn:CallActivity') || is(element, 'bpmn:SubProcess')) {
    groups.push(group('inlav-scripts', 'Script prima e dopo', [
      entry('inlav-prescript', element, PreScriptEntry),
      entry('inlav-postscript', element, PostScriptEntry),
    ]));
  }
  return groups;
}

export default function InlavPropertiesProvider(propertiesPanel) {
  this.getGroups = (element) => (groups) => {
    const kept = groups.filter((existing) => !REPLACED.has(existing.id));
    const general = kept.findIndex((existing) => existing.id === 'general');
    const ours = platformGroups(element);
    kept.splice(general + 1, 0, ...ours);
    return kept;
  };
  propertiesPanel.registerProvider(LOW_PRIORITY, this);
}

InlavPropertiesProvider.$inject = ['propertiesPanel'];
