// Reading and writing the spiffworkflow extension elements the engine executes, as undoable
// commands of the modeler (one command stack entry per change, so «Annulla» undoes it whole).
import { is, getBusinessObject } from 'bpmn-js/lib/util/ModelUtil';

const MULTI = 'properties-panel.multi-command-executor';

/** The extension values of a business object (or moddle element), optionally of one type. */
export function extensionValues(bo, type) {
  const extensions = bo && bo.get('extensionElements');
  const values = (extensions && extensions.get('values')) || [];
  return type ? values.filter((value) => is(value, type)) : values;
}

/** Commands making sure `bo` has extension elements; returns [commands, extensionElements]. */
function ensureExtensions(element, bo, bpmnFactory) {
  let extensions = bo.get('extensionElements');
  if (extensions) return [[], extensions];
  extensions = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
  extensions.$parent = bo;
  return [[{
    cmd: 'element.updateModdleProperties',
    context: { element, moddleElement: bo, properties: { extensionElements: extensions } },
  }], extensions];
}

/** The text of a body extension element such as spiffworkflow:PreScript ('' if absent). */
export function bodyValue(bo, type) {
  const found = extensionValues(bo, type)[0];
  return (found && found.get('value')) || '';
}

/** Set (or remove, when empty) a body extension element of `bo` (the element's or its event definition's). */
export function setBodyValue(injector, element, bo, type, text) {
  const bpmnFactory = injector.get('bpmnFactory');
  const moddle = injector.get('moddle');
  const commandStack = injector.get('commandStack');
  const found = extensionValues(bo, type)[0];
  const empty = !text || !text.trim();
  if (found) {
    const extensions = bo.get('extensionElements');
    const properties = empty
      ? { values: extensions.get('values').filter((value) => value !== found) }
      : null;
    if (properties) {
      return commandStack.execute('element.updateModdleProperties', { element, moddleElement: extensions, properties });
    }
    return commandStack.execute('element.updateModdleProperties', { element, moddleElement: found, properties: { value: text } });
  }
  if (empty) return undefined;
  const [commands, extensions] = ensureExtensions(element, bo, bpmnFactory);
  const created = moddle.create(type, { value: text });
  created.$parent = extensions;
  commands.push({
    cmd: 'element.updateModdleProperties',
    context: { element, moddleElement: extensions, properties: { values: [...extensions.get('values'), created] } },
  });
  return commandStack.execute(MULTI, commands);
}

/** The value of a spiffworkflow property (formJsonSchemaFilename, dueIn, correlationKey…), '' if absent. */
export function propertyValue(bo, name) {
  for (const container of extensionValues(bo, 'spiffworkflow:Properties')) {
    const found = (container.get('properties') || []).find((property) => property.name === name);
    if (found) return found.value || '';
  }
  return '';
}

/** Set several spiffworkflow properties at once ({name: value}; empty or null removes). */
export function setProperties(injector, element, values) {
  const bo = getBusinessObject(element);
  const bpmnFactory = injector.get('bpmnFactory');
  const moddle = injector.get('moddle');
  const commandStack = injector.get('commandStack');
  let commands = [];
  let container = extensionValues(bo, 'spiffworkflow:Properties')[0];
  if (!container) {
    if (Object.values(values).every((value) => !value)) return undefined;
    const [ensure, extensions] = ensureExtensions(element, bo, bpmnFactory);
    commands = ensure;
    container = moddle.create('spiffworkflow:Properties', { properties: [] });
    container.$parent = extensions;
    commands.push({
      cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: extensions, properties: { values: [...extensions.get('values'), container] } },
    });
  }
  let list = [...(container.get('properties') || [])];
  for (const [name, value] of Object.entries(values)) {
    const found = list.find((property) => property.name === name);
    if (!value) {
      list = list.filter((property) => property !== found);
    } else if (found) {
      commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: found, properties: { value } } });
    } else {
      const created = moddle.create('spiffworkflow:Property', { name, value });
      created.$parent = container;
      list.push(created);
    }
  }
  commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: container, properties: { properties: list } } });
  return commandStack.execute(MULTI, commands);
}

/** The event definition of an event of the given type (bpmn:TimerEventDefinition…), or undefined. */
export function eventDefinition(element, type) {
  const bo = getBusinessObject(element);
  return (bo.get('eventDefinitions') || []).find((definition) => is(definition, type));
}

/** The business object that holds a message reference: the task itself, or the event's definition. */
export function messageHolder(element) {
  if (is(element, 'bpmn:ReceiveTask') || is(element, 'bpmn:SendTask')) return getBusinessObject(element);
  return is(element, 'bpmn:Event') ? eventDefinition(element, 'bpmn:MessageEventDefinition') : undefined;
}

/** Whether the element sends its message (throw event, send task) rather than waiting for it. */
export function sendsMessage(element) {
  return is(element, 'bpmn:SendTask') || is(element, 'bpmn:IntermediateThrowEvent') || is(element, 'bpmn:EndEvent');
}

/** The bpmn:Definitions of the diagram (root of the element's business object). */
export function definitionsOf(element) {
  let bo = getBusinessObject(element);
  while (bo.$parent) bo = bo.$parent;
  return bo;
}

/** The messages the diagram defines (bpmn:Message root elements). */
export function diagramMessages(element) {
  return (definitionsOf(element).get('rootElements') || []).filter((root) => is(root, 'bpmn:Message'));
}

/**
 * Point the element's message reference at the message called `name`, creating the
 * bpmn:Message in the diagram if it has none by that name ('' clears the reference).
 */
export function pointAtMessage(injector, element, name) {
  const holder = messageHolder(element);
  if (!holder) return undefined;
  const commandStack = injector.get('commandStack');
  const bpmnFactory = injector.get('bpmnFactory');
  const commands = [];
  let message = null;
  if (name) {
    message = diagramMessages(element).find((candidate) => candidate.name === name);
    if (!message) {
      const definitions = definitionsOf(element);
      message = bpmnFactory.create('bpmn:Message', { name });
      message.$parent = definitions;
      commands.push({
        cmd: 'element.updateModdleProperties',
        context: { element, moddleElement: definitions, properties: { rootElements: [...definitions.get('rootElements'), message] } },
      });
    }
  }
  commands.push({
    cmd: 'element.updateModdleProperties',
    context: { element, moddleElement: holder, properties: { messageRef: message || undefined } },
  });
  return commandStack.execute(MULTI, commands);
}
