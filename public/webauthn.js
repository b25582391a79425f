// Passkeys and security keys (WebAuthn) for the pages that use them: the login page, the second
// step of signing in and the Account page. Buttons say what they do with `data-passkey`:
//   "sign-in"        sign in with a passkey, without a password;
//   "second-factor"  finish a pending sign-in with a security key;
//   "add"            add a passkey to the account (its name is the box's `passkey_name` field).
// The challenge and the answer go through the server's functions; the ceremony's state stays on
// the server. Errors are written into the box's `[data-passkey-error]`; a passkey added is
// reported to the page through its `[data-passkey-result]` input (an `input` event).
(() => {
  if (window.gatehouseWebauthn) return;
  window.gatehouseWebauthn = true;

  const toBytes = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  };
  const toText = (buffer) => {
    let raw = "";
    for (const byte of new Uint8Array(buffer)) raw += String.fromCharCode(byte);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const credentialIds = (list) => (list || []).map((c) => ({ ...c, id: toBytes(c.id) }));

  // A server function: form fields in, JSON out; its error's message thrown.
  const call = async (path, fields) => {
    const response = await fetch(`/_sfn/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams(fields || {}),
      credentials: "same-origin",
    });
    const text = await response.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch (_) {
      body = text;
    }
    if (!response.ok) {
      const inner = body && typeof body === "object" ? Object.values(body)[0] : body;
      const message = inner && typeof inner === "object" ? inner.message : inner;
      throw new Error(message || `The server answered ${response.status}. Try again.`);
    }
    return body;
  };

  const attestation = (credential) => ({
    id: credential.id,
    rawId: toText(credential.rawId),
    type: credential.type,
    response: {
      attestationObject: toText(credential.response.attestationObject),
      clientDataJSON: toText(credential.response.clientDataJSON),
      transports: credential.response.getTransports ? credential.response.getTransports() : [],
    },
    extensions: credential.getClientExtensionResults(),
  });

  const assertion = (credential) => ({
    id: credential.id,
    rawId: toText(credential.rawId),
    type: credential.type,
    response: {
      authenticatorData: toText(credential.response.authenticatorData),
      clientDataJSON: toText(credential.response.clientDataJSON),
      signature: toText(credential.response.signature),
      userHandle: credential.response.userHandle ? toText(credential.response.userHandle) : null,
    },
    extensions: credential.getClientExtensionResults(),
  });

  const get = async (challengePath) => {
    const challenge = await call(challengePath);
    const publicKey = challenge.publicKey;
    publicKey.challenge = toBytes(publicKey.challenge);
    publicKey.allowCredentials = credentialIds(publicKey.allowCredentials);
    const credential = await navigator.credentials.get({ publicKey });
    return { ceremony: challenge.ceremony, credential: JSON.stringify(assertion(credential)) };
  };

  const actions = {
    "sign-in": async () => {
      const answer = await get("passkeys/sign_in_challenge");
      window.location.assign(await call("passkeys/sign_in", answer));
    },
    "second-factor": async () => {
      const answer = await get("two_factor/passkey_challenge");
      window.location.assign(await call("two_factor/passkey", answer));
    },
    add: async (box) => {
      const nameField = box.querySelector("[name=passkey_name]");
      const challenge = await call("passkeys/registration_challenge");
      const publicKey = challenge.publicKey;
      publicKey.challenge = toBytes(publicKey.challenge);
      publicKey.user.id = toBytes(publicKey.user.id);
      publicKey.excludeCredentials = credentialIds(publicKey.excludeCredentials);
      const credential = await navigator.credentials.create({ publicKey });
      const added = await call("passkeys/register", {
        ceremony: challenge.ceremony,
        name: nameField ? nameField.value : "",
        credential: JSON.stringify(attestation(credential)),
      });
      if (nameField) nameField.value = "";
      const result = box.querySelector("[data-passkey-result]");
      if (result) {
        result.value = JSON.stringify(added);
        result.dispatchEvent(new Event("input", { bubbles: true }));
      }
    },
  };

  const problem = (error) => {
    if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      return "The passkey request was cancelled or timed out. Try again.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This security key or passkey is registered already.";
    }
    return (error && error.message) || "The passkey could not be used. Try again.";
  };

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-passkey]");
    const action = button && actions[button.dataset.passkey];
    if (!action) return;
    event.preventDefault();
    const box = button.closest("[data-passkey-box]") || document.body;
    const error = box.querySelector("[data-passkey-error]");
    if (!window.PublicKeyCredential) {
      if (error) error.textContent = "This browser cannot use passkeys or security keys.";
      return;
    }
    if (error) error.textContent = "";
    button.disabled = true;
    try {
      await action(box);
    } catch (e) {
      if (error) error.textContent = problem(e);
    } finally {
      button.disabled = false;
    }
  });
})();
