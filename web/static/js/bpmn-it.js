// InLav Flow studio: Italian labels for the bpmn-js modeler (palette, context pad, popup menu).
// bpmn-js asks its `translate` service for every label; window.InlavBpmnItalian is a module
// that replaces it, looking the English template up here (unknown ones stay as they are).
(function () {
  "use strict";

  var IT = {
    "Activate hand tool": "Strumento mano (spostare il disegno)",
    "Activate lasso tool": "Strumento lazo (selezionare più elementi)",
    "Activate create/remove space tool": "Crea o togli spazio",
    "Activate global connect tool": "Collega elementi",
    "Create start event": "Aggiungi evento di inizio",
    "Create end event": "Aggiungi evento di fine",
    "Create intermediate/boundary event": "Aggiungi evento intermedio",
    "Create gateway": "Aggiungi gateway (decisione)",
    "Create task": "Aggiungi attività",
    "Create data object reference": "Aggiungi oggetto dati",
    "Create data store reference": "Aggiungi archivio dati",
    "Create expanded sub-process": "Aggiungi sottoprocesso",
    "Create pool/participant": "Aggiungi partecipante (pool)",
    "Create group": "Aggiungi gruppo",
    "Append end event": "Aggiungi evento di fine",
    "Append gateway": "Aggiungi gateway",
    "Append task": "Aggiungi attività",
    "Append intermediate/boundary event": "Aggiungi evento intermedio",
    "Append text annotation": "Aggiungi nota",
    "Add text annotation": "Aggiungi nota",
    "Change element": "Cambia tipo",
    "Change type": "Cambia tipo",
    "Connect using sequence/message flow or association": "Collega (flusso o associazione)",
    "Connect to other element": "Collega a un altro elemento",
    "Connect using association": "Collega con un'associazione",
    "Connect using data input association": "Collega con un'associazione di dati",
    "Delete": "Elimina",
    "Remove": "Elimina",
    "Add lane above": "Aggiungi corsia sopra",
    "Add lane below": "Aggiungi corsia sotto",
    "Divide into two lanes": "Dividi in due corsie",
    "Divide into three lanes": "Dividi in tre corsie",
    "Search in diagram": "Cerca nel diagramma",
    "Task": "Attività",
    "User task": "Attività utente",
    "Manual task": "Attività manuale",
    "Script task": "Script",
    "Service task": "Attività di servizio",
    "Send task": "Invio di messaggio",
    "Receive task": "Attesa di messaggio",
    "Business rule task": "Decisione (DMN)",
    "Call activity": "Chiamata di processo",
    "Sub-process (collapsed)": "Sottoprocesso (chiuso)",
    "Sub-process (expanded)": "Sottoprocesso (aperto)",
    "Start event": "Evento di inizio",
    "End event": "Evento di fine",
    "Exclusive gateway": "Gateway esclusivo",
    "Parallel gateway": "Gateway parallelo",
    "Inclusive gateway": "Gateway inclusivo",
    "Event-based gateway": "Gateway su eventi",
    "Timer start event": "Inizio a tempo",
    "Message start event": "Inizio su messaggio",
    "Timer boundary event": "Timer sul bordo",
    "Message boundary event": "Messaggio sul bordo",
    "Intermediate throw event": "Evento intermedio (lancio)",
    "Message intermediate catch event": "Attesa di messaggio (evento)",
    "Message intermediate throw event": "Invio di messaggio (evento)",
    "Timer intermediate catch event": "Attesa a tempo",
    "Message end event": "Fine con messaggio",
    "Terminate end event": "Fine che termina il processo",
    "Error end event": "Fine con errore",
    "Sequence flow": "Flusso",
    "Default flow": "Flusso predefinito",
    "Conditional flow": "Flusso con condizione",
    "Loop": "Ripetizione",
    "Parallel multi-instance": "Più istanze in parallelo",
    "Sequential multi-instance": "Più istanze in sequenza",
  };

  function translate(template, replacements) {
    var text = Object.prototype.hasOwnProperty.call(IT, template) ? IT[template] : template;
    replacements = replacements || {};
    return text.replace(/{([^}]+)}/g, function (_, key) {
      return Object.prototype.hasOwnProperty.call(replacements, key) ? replacements[key] : "{" + key + "}";
    });
  }

  window.InlavBpmnItalian = { translate: ["value", translate] };
})();
