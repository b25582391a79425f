"""A SAML 2.0 identity provider for gatehouse's tests, on the command line.

The integration tests run it with the venv's python (`$GATEHOUSE_VENV/bin/python
tests/saml/idp.py ...`, installed by .ci/setup) to play the IdP's part without a server: it
prints the IdP's metadata, which a test gives gatehouse as an organization's SSO settings, and
the SAMLResponse a browser would POST to gatehouse's Assertion Consumer Service, which the test
then posts itself. Responses are made of pysaml2's SAML classes (not its Server, whose policy
sets every time itself) and signed the way its Server signs them: `pre_signature_part` and
`signed_instance_factory`, which run the xmlsec1 binary (RSA-SHA256 over a SHA-256 digest,
exclusive canonicalization, the certificate in KeyInfo). The keys are fixed and for tests only:
keys/idp.{key,crt} is the IdP's, keys/other.{key,crt} a stranger's, each an RSA-2048 key with a
self-signed certificate valid for ten years (`openssl req -x509 -newkey rsa:2048 -nodes -sha256
-days 3650`).

    idp.py metadata --entity-id ENTITY --sso-url URL

prints the EntityDescriptor: an IDPSSODescriptor with the signing certificate (keys/idp.crt),
the emailAddress and persistent NameID formats and a SingleSignOnService for HTTP-Redirect at
URL.

    idp.py response --entity-id IDP_ENTITY --sp-entity-id SP --acs-url ACS --name-id NAMEID
        [--name-id-format email|persistent] [--in-response-to ID] [--attr NAME=VALUE ...]
        [--sign assertion|response|both] [--assertion-id ID] [--variant VARIANT]
        [--evil-name-id NAMEID] [--xsw 1-8] [--comment-after PREFIX] [--xml]

prints the base64 SAMLResponse (the form field's value; with --xml, the XML itself). A
successful Response to ACS (Destination), from IDP_ENTITY, with one Assertion: Issuer,
Subject/NameID with a bearer SubjectConfirmationData (Recipient ACS, NotOnOrAfter in 5 minutes,
InResponseTo when given, on the Response too), Conditions (NotBefore a minute ago, NotOnOrAfter
in 5 minutes, Audience SP), an AuthnStatement and an AttributeStatement with every --attr (an
attribute given several times has several values: groups). --sign says what carries a signature
(default: the assertion). --assertion-id reuses an ID, to replay an assertion; it is random
otherwise, like every other ID.

--variant makes a response the SP must refuse (the default, `good`, is one it accepts):

    unsigned            no signature anywhere
    other-key           signed (as --sign says) with keys/other.key, whose certificate is in
                        KeyInfo, not the one in the metadata
    sha1                signed with RSA-SHA1 over a SHA-1 digest
    expired             Conditions NotOnOrAfter and SubjectConfirmationData NotOnOrAfter 10
                        minutes ago, NotBefore 20 minutes ago
    not-yet-valid       Conditions NotBefore in 10 minutes (NotOnOrAfter in 15, the subject
                        confirmation's too)
    wrong-audience      Audience is another SP (https://other-sp.test/saml/metadata)
    wrong-destination   Destination and Recipient are another ACS
                        (https://other-sp.test/saml/acs)
    wrong-recipient     Recipient alone is another ACS; Destination is ACS
    two-assertions      two assertions, each signed (the second for --evil-name-id)
    wrapping-moved      XML signature wrapping: a validly signed element moved beside an unsigned
                        one for --evil-name-id, in the layout --xsw picks (the XSW1-8 of
                        Somorovsky et al., "On Breaking SAML", as SAML Raider builds them):
                          1  the Response is re-identified and carries the evil assertion; the
                             signed original Response, without its signature, is the last
                             child of the Signature
                          2  as 1, with the signed original just before the Signature
                          3  (default) the evil assertion first, the signed one after it
                          4  the evil assertion, with the signed one as its last child
                          5  the evil assertion holds the signature; the original assertion,
                             without it, is the Response's last child
                          6  the evil assertion holds the signature, with the original assertion
                             inside the Signature element
                          7  the signed assertion inside samlp:Extensions, the evil one after
                          8  the evil assertion holds the signature, with the original assertion
                             inside a ds:Object of it
                        Layouts 1 and 2 sign the Response only, the others the assertion only;
                        every evil element has an ID of its own, so no ID is there twice. In 2,
                        3, 4, 5 and 7 the signature is valid (xmlsec1 verifies it): they test
                        whether the SP uses the element that was signed. In 1 and 6 the signed
                        element is a child of ds:Signature where the schema allows none, and in
                        8 it sits in ds:Object, which the enveloped-signature transform takes
                        out of the digest: a verifier that follows XML-DSig (xmlsec1) refuses
                        these signatures themselves; they catch verifiers that take the
                        signature out of the element by hand.
    comment-in-nameid   the assertion is signed for NAMEID, then an XML comment is put into the
                        NameID's text after --comment-after (default: NAMEID without its last two
                        dot-separated labels, so admin@x.test.evil.test reads admin@x.test to a
                        reader that stops at the comment); the signature stays valid, since
                        exclusive canonicalization without comments drops comments
    signature-over-other-element
                        the assertion carries a valid signature whose Reference is not the
                        assertion but a gh:Evidence element (namespace urn:gatehouse:test) in the
                        Response's samlp:Extensions; nothing signs the assertion itself

--sign does not apply to `unsigned`, `wrapping-moved` and `signature-over-other-element`; with
`two-assertions` both assertions are signed whatever it says, and the Response as well when it
says `response` or `both`. The edits made after signing (every variant from `wrapping-moved` on)
are made with lxml on the signed XML, which keeps comments; what a signature covers stays as it
was signed.

Exits 2 with a message on bad arguments, 1 when signing fails (xmlsec1 missing, for instance).
"""

import argparse
import base64
import copy
import datetime
import re
import shutil
import sys
import uuid
from collections import OrderedDict
from pathlib import Path

from lxml import etree
from saml2 import BINDING_HTTP_REDIRECT, SAMLError, md, saml, samlp
from saml2.config import IdPConfig
from saml2.extension import algsupport
from saml2.metadata import entity_descriptor
from saml2.s_utils import success_status_factory
from saml2.saml import (
    NAME_FORMAT_BASIC,
    NAME_FORMAT_URI,
    NAMEID_FORMAT_EMAILADDRESS,
    NAMEID_FORMAT_ENTITY,
    NAMEID_FORMAT_PERSISTENT,
)
from saml2.sigver import pre_signature_part, security_context, signed_instance_factory
from saml2.time_util import TIME_FORMAT
from saml2.validate import valid_instance
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

KEYS = Path(__file__).resolve().parent / "keys"
NAME_ID_FORMATS = {"email": NAMEID_FORMAT_EMAILADDRESS, "persistent": NAMEID_FORMAT_PERSISTENT}
OTHER_SP = "https://other-sp.test/saml/metadata"
OTHER_ACS = "https://other-sp.test/saml/acs"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
EVIDENCE_NS = "urn:gatehouse:test"

NS = {
    "samlp": samlp.NAMESPACE,
    "saml": saml.NAMESPACE,
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
# The prefixes a serialized message uses (pysaml2 would number them: ns0, ns1, ...).
PREFIXES = {"samlp": samlp.NAMESPACE, "saml": saml.NAMESPACE, "ds": NS["ds"]}
ASSERTION_NODE = f"{saml.NAMESPACE}:Assertion"
RESPONSE_NODE = f"{samlp.NAMESPACE}:Response"

VARIANTS = [
    "good",
    "unsigned",
    "other-key",
    "sha1",
    "expired",
    "not-yet-valid",
    "wrong-audience",
    "wrong-destination",
    "wrong-recipient",
    "two-assertions",
    "wrapping-moved",
    "comment-in-nameid",
    "signature-over-other-element",
]

# xs:ID is an NCName: what --assertion-id may be.
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")


class Failure(Exception):
    """Something went wrong after the arguments were accepted (exit status 1)."""


def new_id():
    return "_" + uuid.uuid4().hex


def config(entity_id, key="idp", sso_url=None):
    """pysaml2's IdP configuration for ENTITY, signing with keys/KEY.{key,crt}."""
    xmlsec = shutil.which("xmlsec1")
    if xmlsec is None:
        raise Failure("xmlsec1 is not on PATH (apt-get install xmlsec1; .ci/setup does)")
    idp = {"name_id_format": [NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT]}
    if sso_url:
        idp["endpoints"] = {"single_sign_on_service": [(sso_url, BINDING_HTTP_REDIRECT)]}
    conf = IdPConfig()
    conf.load(
        {
            "entityid": entity_id,
            "key_file": str(KEYS / f"{key}.key"),
            "cert_file": str(KEYS / f"{key}.crt"),
            "xmlsec_binary": xmlsec,
            "service": {"idp": idp},
        }
    )
    return conf


def metadata(args):
    conf = config(args.entity_id, sso_url=args.sso_url)
    descriptor = entity_descriptor(conf)
    valid_instance(descriptor)
    prefixes = {"md": md.NAMESPACE, "ds": NS["ds"], "alg": algsupport.NAMESPACE}
    return descriptor.to_string(prefixes).decode("utf-8")


class Clock:
    """One 'now' for a whole response, so that every timestamp agrees."""

    def __init__(self):
        self.now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def at(self, minutes=0):
        return (self.now + datetime.timedelta(minutes=minutes)).strftime(TIME_FORMAT)


def attributes(pairs):
    """--attr NAME=VALUE pairs as saml:Attribute elements, one per name, values in order."""
    grouped = OrderedDict()
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return [
        saml.Attribute(
            name=name,
            # A URI-shaped name is a URI name; anything else is a basic one.
            name_format=NAME_FORMAT_URI if ":" in name else NAME_FORMAT_BASIC,
            attribute_value=[saml.AttributeValue(text=value) for value in values],
        )
        for name, values in grouped.items()
    ]


def build_assertion(args, clock, name_id, assertion_id):
    """The Assertion as the variant wants its content (before any signing)."""
    variant = args.variant
    not_before, not_on_or_after, confirmation_until = clock.at(-1), clock.at(5), clock.at(5)
    if variant == "expired":
        not_before, not_on_or_after, confirmation_until = (
            clock.at(-20),
            clock.at(-10),
            clock.at(-10),
        )
    elif variant == "not-yet-valid":
        not_before, not_on_or_after, confirmation_until = clock.at(10), clock.at(15), clock.at(15)
    audience = OTHER_SP if variant == "wrong-audience" else args.sp_entity_id
    recipient = OTHER_ACS if variant in ("wrong-destination", "wrong-recipient") else args.acs_url

    subject = saml.Subject(
        name_id=saml.NameID(format=NAME_ID_FORMATS[args.name_id_format], text=name_id),
        subject_confirmation=[
            saml.SubjectConfirmation(
                method=saml.SCM_BEARER,
                subject_confirmation_data=saml.SubjectConfirmationData(
                    recipient=recipient,
                    not_on_or_after=confirmation_until,
                    in_response_to=args.in_response_to,
                ),
            )
        ],
    )
    conditions = saml.Conditions(
        not_before=not_before,
        not_on_or_after=not_on_or_after,
        audience_restriction=[saml.AudienceRestriction(audience=[saml.Audience(text=audience)])],
    )
    authn = saml.AuthnStatement(
        authn_instant=clock.at(),
        session_index=new_id(),
        authn_context=saml.AuthnContext(
            authn_context_class_ref=saml.AuthnContextClassRef(text=PASSWORD_PROTECTED)
        ),
    )
    assertion = saml.Assertion(
        id=assertion_id,
        version="2.0",
        issue_instant=clock.at(),
        issuer=saml.Issuer(text=args.entity_id, format=NAMEID_FORMAT_ENTITY),
        subject=subject,
        conditions=conditions,
        authn_statement=[authn],
    )
    if args.attr:
        assertion.attribute_statement = [saml.AttributeStatement(attribute=attributes(args.attr))]
    return assertion


def build_response(args, clock, assertions):
    destination = OTHER_ACS if args.variant == "wrong-destination" else args.acs_url
    return samlp.Response(
        id=new_id(),
        version="2.0",
        issue_instant=clock.at(),
        destination=destination,
        in_response_to=args.in_response_to,
        issuer=saml.Issuer(text=args.entity_id, format=NAMEID_FORMAT_ENTITY),
        status=success_status_factory(),
        assertion=assertions,
    )


def sign(response, sec, sign_assertions, sign_response, sign_alg, digest_alg):
    """Signs the assertions and/or the Response as pysaml2's Server does: a signature template
    from pre_signature_part in each, then xmlsec1 over each in turn, assertions first."""
    to_sign = []
    if sign_assertions:
        for assertion in response.assertion:
            assertion.signature = pre_signature_part(
                assertion.id, sec.my_cert, 2, sign_alg=sign_alg, digest_alg=digest_alg
            )
            to_sign.append((ASSERTION_NODE, assertion.id))
    if sign_response:
        response.signature = pre_signature_part(
            response.id, sec.my_cert, 1, sign_alg=sign_alg, digest_alg=digest_alg
        )
        to_sign.append((RESPONSE_NODE, response.id))
    xml = response.to_string(PREFIXES).decode("utf-8")
    if not to_sign:
        return xml
    try:
        return signed_instance_factory(xml, sec, to_sign)
    except SAMLError as error:
        raise Failure(f"xmlsec1 could not sign: {error}") from error


def parse(xml):
    parser = etree.XMLParser(remove_comments=False, resolve_entities=False, no_network=True)
    return etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml, parser)


def serialize(root):
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def own_signature(element):
    return element.find("ds:Signature", NS)


def evil_copy(assertion, evil_name_id, keep_signature):
    """A copy of ASSERTION under a new ID for EVIL_NAME_ID, with or without its signature."""
    evil = copy.deepcopy(assertion)
    evil.set("ID", new_id())
    if not keep_signature:
        evil.remove(own_signature(evil))
    evil.find("saml:Subject/saml:NameID", NS).text = evil_name_id
    return evil


def unsigned_copy(element):
    clone = copy.deepcopy(element)
    clone.remove(own_signature(clone))
    return clone


def wrap(xml, layout, evil_name_id):
    """Signature wrapping on a signed Response: XSW1 and 2 expect a signed Response, the others
    a signed assertion."""
    response = parse(xml)
    if layout in (1, 2):
        original = unsigned_copy(response)
        response.set("ID", new_id())
        evil = response.find("saml:Assertion", NS)
        evil.set("ID", new_id())
        evil.find("saml:Subject/saml:NameID", NS).text = evil_name_id
        signature = own_signature(response)
        if layout == 1:
            signature.append(original)
        else:
            signature.addprevious(original)
        return serialize(response)

    signed = response.find("saml:Assertion", NS)
    if layout == 3:
        signed.addprevious(evil_copy(signed, evil_name_id, keep_signature=False))
    elif layout == 4:
        evil = evil_copy(signed, evil_name_id, keep_signature=False)
        signed.addprevious(evil)
        evil.append(signed)
    elif layout == 5:
        original = unsigned_copy(signed)
        signed.addprevious(evil_copy(signed, evil_name_id, keep_signature=True))
        response.remove(signed)
        response.append(original)
    elif layout in (6, 8):
        original = unsigned_copy(signed)
        evil = evil_copy(signed, evil_name_id, keep_signature=True)
        signed.addprevious(evil)
        response.remove(signed)
        if layout == 6:
            own_signature(evil).append(original)
        else:
            obj = etree.SubElement(own_signature(evil), f"{{{NS['ds']}}}Object")
            obj.append(original)
    elif layout == 7:
        evil = evil_copy(signed, evil_name_id, keep_signature=False)
        signed.addprevious(evil)
        extensions = etree.Element(f"{{{samlp.NAMESPACE}}}Extensions")
        extensions.append(signed)
        # samlp:Extensions comes after Issuer (and Signature), before Status.
        response.find("samlp:Status", NS).addprevious(extensions)
    return serialize(response)


def comment_in_name_id(xml, prefix):
    response = parse(xml)
    for name_id in response.iterfind(".//saml:Subject/saml:NameID", NS):
        text = name_id.text or ""
        comment = etree.Comment("")
        comment.tail = text[len(prefix) :]
        name_id.text = prefix
        name_id.insert(0, comment)
    return serialize(response)


def signature_over_other_element(response, sec):
    """Signs a gh:Evidence element in the Response's Extensions, then moves that signature into
    the (unsigned) assertion, where a signature of the assertion would be."""
    evidence_id = new_id()
    root = parse(response.to_string(PREFIXES))
    extensions = etree.Element(f"{{{samlp.NAMESPACE}}}Extensions")
    evidence = etree.SubElement(
        extensions, f"{{{EVIDENCE_NS}}}Evidence", {"ID": evidence_id}, nsmap={"gh": EVIDENCE_NS}
    )
    evidence.text = "signed by the IdP, and not the assertion"
    template = pre_signature_part(
        evidence_id, sec.my_cert, 2, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
    )
    evidence.append(parse(template.to_string()))
    root.find("samlp:Status", NS).addprevious(extensions)
    try:
        signed = sec.sign_statement(
            serialize(root), node_name=f"{EVIDENCE_NS}:Evidence", node_id=evidence_id
        )
    except SAMLError as error:
        raise Failure(f"xmlsec1 could not sign: {error}") from error
    root = parse(signed)
    signature = root.find(f"samlp:Extensions/{{{EVIDENCE_NS}}}Evidence/ds:Signature", NS)
    # In an Assertion, ds:Signature follows saml:Issuer.
    root.find("saml:Assertion/saml:Issuer", NS).addnext(signature)
    return serialize(root)


def response(args):
    clock = Clock()
    variant = args.variant
    key = "other" if variant == "other-key" else "idp"
    sec = security_context(config(args.entity_id, key=key))
    sign_alg, digest_alg = (
        (SIG_RSA_SHA1, DIGEST_SHA1) if variant == "sha1" else (SIG_RSA_SHA256, DIGEST_SHA256)
    )
    assertion_id = args.assertion_id or new_id()
    assertions = [build_assertion(args, clock, args.name_id, assertion_id)]
    if variant == "two-assertions":
        assertions.append(build_assertion(args, clock, args.evil_name_id, new_id()))
    message = build_response(args, clock, assertions)

    sign_assertions = args.sign in ("assertion", "both")
    sign_response = args.sign in ("response", "both")
    if variant == "unsigned":
        sign_assertions = sign_response = False
    elif variant == "two-assertions":
        sign_assertions = True
    elif variant == "wrapping-moved":
        sign_response = args.xsw in (1, 2)
        sign_assertions = not sign_response
    elif variant == "signature-over-other-element":
        return signature_over_other_element(message, sec)

    xml = sign(message, sec, sign_assertions, sign_response, sign_alg, digest_alg)
    if variant == "wrapping-moved":
        xml = wrap(xml, args.xsw, args.evil_name_id)
    elif variant == "comment-in-nameid":
        xml = comment_in_name_id(xml, args.comment_after)
    return xml


def attr_pair(text):
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def xml_id(text):
    if not NCNAME.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an XML ID (a letter or _, then letters, digits, '.', '-', '_')"
        )
    return text


def non_empty(text):
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def parser():
    top = argparse.ArgumentParser(
        prog="idp.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True)

    meta = commands.add_parser("metadata", help="print the IdP's metadata XML")
    meta.add_argument("--entity-id", required=True, type=non_empty)
    meta.add_argument("--sso-url", required=True, type=non_empty)

    resp = commands.add_parser("response", help="print a base64 SAMLResponse")
    resp.add_argument("--entity-id", required=True, type=non_empty, help="the IdP's entity ID")
    resp.add_argument("--sp-entity-id", required=True, type=non_empty)
    resp.add_argument("--acs-url", required=True, type=non_empty)
    resp.add_argument("--name-id", required=True, type=non_empty)
    resp.add_argument("--name-id-format", choices=sorted(NAME_ID_FORMATS), default="email")
    resp.add_argument("--in-response-to", type=xml_id)
    resp.add_argument(
        "--attr",
        action="append",
        type=attr_pair,
        default=[],
        metavar="NAME=VALUE",
        help="an attribute value; repeat a name for several values",
    )
    resp.add_argument("--sign", choices=["assertion", "response", "both"], default="assertion")
    resp.add_argument("--assertion-id", type=xml_id, help="the assertion's ID (default: random)")
    resp.add_argument("--variant", choices=VARIANTS, default="good")
    resp.add_argument(
        "--evil-name-id",
        type=non_empty,
        default="evil@evil.test",
        help="the NameID of the unsigned or second assertion (two-assertions, wrapping-moved)",
    )
    resp.add_argument(
        "--xsw",
        type=int,
        choices=range(1, 9),
        metavar="1-8",
        help="the wrapping layout of wrapping-moved (default 3)",
    )
    resp.add_argument(
        "--comment-after",
        help="comment-in-nameid: where the comment goes (a proper prefix of --name-id)",
    )
    resp.add_argument("--xml", action="store_true", help="print the XML, not its base64")
    return top


def check(top, args):
    """What argparse cannot say by itself."""
    if args.command != "response":
        return
    if args.xsw is not None and args.variant != "wrapping-moved":
        top.error("--xsw applies to --variant wrapping-moved only")
    if args.variant == "wrapping-moved" and args.xsw is None:
        args.xsw = 3
    if args.comment_after is not None and args.variant != "comment-in-nameid":
        top.error("--comment-after applies to --variant comment-in-nameid only")
    if args.variant == "comment-in-nameid":
        if args.comment_after is None:
            labels = args.name_id.split(".")
            if len(labels) < 3:
                top.error(
                    "comment-in-nameid: --name-id needs three dot-separated labels at least "
                    "(admin@x.test.evil.test), or give --comment-after"
                )
            args.comment_after = ".".join(labels[:-2])
        if not (
            args.comment_after
            and args.name_id.startswith(args.comment_after)
            and args.comment_after != args.name_id
        ):
            top.error(f"--comment-after {args.comment_after!r} is not a proper prefix of --name-id")
    if args.variant in ("two-assertions", "wrapping-moved") and args.evil_name_id == args.name_id:
        top.error("--evil-name-id must differ from --name-id")


def main():
    top = parser()
    args = top.parse_args()
    check(top, args)
    try:
        if args.command == "metadata":
            print(metadata(args))
        else:
            xml = response(args)
            if args.xml:
                print(xml)
            else:
                print(base64.b64encode(xml.encode("utf-8")).decode("ascii"))
    except Failure as error:
        print(f"idp.py: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
