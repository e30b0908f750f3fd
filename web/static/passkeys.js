// Passkeys: adding one, signing in with one, and signing a slot with one.
// A button with data-passkey="create" or "get" and data-options="URL"
// asks the server for the ceremony's options (a same-origin POST), lets
// the browser and authenticator do their part, puts the result in its
// form's hidden "credential" field and submits the form as any other: the
// server answers with a page or a redirect. Without WebAuthn (or without
// JavaScript) the buttons stay hidden and a note says why.
(function () {
  "use strict";
  var supported = !!(window.PublicKeyCredential &&
    PublicKeyCredential.parseCreationOptionsFromJSON && PublicKeyCredential.parseRequestOptionsFromJSON);

  function ready() {
    document.querySelectorAll("[data-passkey]").forEach(function (b) { b.hidden = !supported; });
    document.querySelectorAll("[data-passkey-unsupported]").forEach(function (n) { n.hidden = supported; });
  }

  function say(form, text) {
    var out = form.querySelector("[data-passkey-status]");
    if (out) { out.textContent = text; out.hidden = !text; }
  }

  async function ceremony(button) {
    var form = button.form;
    // Fields the form asks for besides the passkey (a name, the current
    // password) are checked first, as a submit would.
    var fields = form.querySelectorAll("[data-passkey-requires]");
    for (var i = 0; i < fields.length; i++) {
      if (!fields[i].reportValidity()) { return; }
    }
    button.disabled = true;
    say(form, "");
    try {
      var res = await fetch(button.dataset.options, {
        method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" }
      });
      var body = await res.json().catch(function () { return {}; });
      if (!res.ok) { throw new Error(body.message || "The server refused (" + res.status + ")."); }
      var cred = button.dataset.passkey === "create"
        ? await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(body.publicKey) })
        : await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(body.publicKey) });
      form.querySelector("input[name=credential]").value = JSON.stringify(cred.toJSON());
      form.submit();
    } catch (err) {
      button.disabled = false;
      say(form, err && err.name === "NotAllowedError"
        ? "The passkey prompt was closed or timed out. Try again."
        : (err && err.message) || "The passkey did not work. Try again.");
    }
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-passkey]");
    if (!button || !supported) { return; }
    e.preventDefault();
    ceremony(button);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
