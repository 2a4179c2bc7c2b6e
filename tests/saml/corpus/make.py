#!/usr/bin/env python3
"""Makes the attack corpus: SAML messages an SP (or an attacker) could send to the IdP, each with
what the IdP must do with it (manifest.json). Signed with xmlsec1 and the test keys in ../keys; the
attacks are plain text surgery on the signed files. Needs openssl-free xmlsec1 only.

Run from anywhere: python3 tests/saml/corpus/make.py   (rewrites the corpus; see README.md)
"""
import json
import re
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEYS = HERE.parent / "keys"
SP = "https://sp.example.com/metadata"
ACS = "https://sp.example.com/saml/acs"
NOW = "2026-11-23T12:00:00Z"
SHA256 = ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256")
SHA1 = ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1")


def signature(ref: str, algs=SHA256) -> str:
    return ('<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
            '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
            f'<ds:SignatureMethod Algorithm="{algs[0]}"/><ds:Reference URI="#{ref}"><ds:Transforms>'
            '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
            '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
            f'<ds:DigestMethod Algorithm="{algs[1]}"/><ds:DigestValue></ds:DigestValue></ds:Reference>'
            '</ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data>'
            '<ds:X509Certificate></ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>')


def authn(id_: str, acs: str = ACS, algs=SHA256, signed=True) -> str:
    return ('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id_}" Version="2.0" IssueInstant="{NOW}" '
            f'AssertionConsumerServiceURL="{acs}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">'
            f'<saml:Issuer>{SP}</saml:Issuer>{signature(id_, algs) if signed else ""}'
            '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" AllowCreate="true"/>'
            '</samlp:AuthnRequest>')


def logout(id_: str, name_id: str) -> str:
    return ('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id_}" Version="2.0" IssueInstant="{NOW}">'
            f'<saml:Issuer>{SP}</saml:Issuer>{signature(id_)}<saml:NameID>{name_id}</saml:NameID>'
            '<samlp:SessionIndex>_s1</samlp:SessionIndex></samlp:LogoutRequest>')


def sign(xml: str, key: str = "sp", kind: str = "AuthnRequest") -> str:
    tmpl = HERE / "_tmpl.xml"
    tmpl.write_text(xml)
    out = subprocess.run(["xmlsec1", "--sign", "--privkey-pem", f"{KEYS / key}.key,{KEYS / key}.crt",
                          "--id-attr:ID", f"urn:oasis:names:tc:SAML:2.0:protocol:{kind}", str(tmpl)],
                         capture_output=True, text=True, check=True).stdout
    tmpl.unlink()
    return re.sub(r"^<\?xml[^>]*>\s*", "", out).strip()


def strip_sig(xml: str) -> str:
    return re.sub(r"<ds:Signature.*?</ds:Signature>", "", xml, flags=re.S)


def main():
    items = []

    def add(name, xml, kind, expect, how):
        (HERE / name).write_text(xml + "\n")
        items.append({"file": name, "kind": kind, "expect": expect, "how": how})

    valid = sign(authn("_c0rpus0valid"))
    add("valid-signed.xml", valid, "authn", "accept", "authn template signed by the SP key (control)")
    attacker_cert = "".join((KEYS / "attacker.crt.b64").read_text().split())
    swapped = re.sub(r"<ds:X509Certificate>[^<]+</ds:X509Certificate>",
                     f"<ds:X509Certificate>{attacker_cert}</ds:X509Certificate>", valid)
    add("cert-swapped.xml", swapped, "authn", "accept",
        "valid-signed with the KeyInfo certificate replaced by the attacker's: the key comes from the stored "
        "SP metadata, so the signature still verifies (control)")
    add("replay.xml", valid, "authn", "refuse-second",
        "valid-signed itself, sent twice: the second time its ID was seen (take-once counter)")
    add("stripped-signature.xml", strip_sig(valid), "authn", "refuse",
        "valid-signed with ds:Signature removed, to an app that requires signed requests")
    add("forged-attacker-key.xml", sign(authn("_c0rpus0forged"), key="attacker"), "authn", "refuse",
        "signed by the attacker's key (attacker certificate in KeyInfo)")
    add("tampered.xml", valid.replace("nameid-format:unspecified", "nameid-format:emailAddress"), "authn", "refuse",
        "valid-signed with the NameIDPolicy Format changed after signing (digest mismatch)")
    add("sha1.xml", sign(authn("_c0rpus0sha1", algs=SHA1)), "authn", "refuse",
        "signed with rsa-sha1 / sha1 (not on the allowlist)")
    add("unregistered-acs.xml", sign(authn("_c0rpus0acs", acs="https://evil.example/acs")), "authn", "refuse",
        "validly signed, but its AssertionConsumerServiceURL is not registered for the app")
    original = valid
    evil = authn("_c0rpus0evil", acs="https://evil.example/acs", signed=False)
    add("xsw-embed.xml", evil.replace("<samlp:NameIDPolicy", f"<samlp:Extensions>{original}</samlp:Extensions><samlp:NameIDPolicy"),
        "authn", "refuse", "signature wrapping: attacker root (evil ACS), the signed original hidden in Extensions")
    sig = re.search(r"<ds:Signature.*?</ds:Signature>", original, flags=re.S).group(0)
    moved = evil.replace(f"<saml:Issuer>{SP}</saml:Issuer>", f"<saml:Issuer>{SP}</saml:Issuer>{sig}").replace(
        "<samlp:NameIDPolicy", f"<samlp:Extensions>{strip_sig(original)}</samlp:Extensions><samlp:NameIDPolicy", 1)
    add("xsw-sigmoved.xml", moved, "authn", "refuse",
        "signature wrapping: the Signature moved to the attacker root, its Reference still naming the hidden original")
    dup = authn("_c0rpus0valid", acs="https://evil.example/acs", signed=False).replace(
        "<samlp:NameIDPolicy", f"<samlp:Extensions>{original}</samlp:Extensions><samlp:NameIDPolicy")
    add("xsw-dupid.xml", dup, "authn", "refuse", "signature wrapping: the attacker root takes the original's ID (duplicate ID)")
    add("doctype-entities.xml", '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>' +
        valid.replace(f"<saml:Issuer>{SP}", f"<saml:Issuer>{SP}&b;"), "authn", "refuse",
        "a DOCTYPE declaring entities (entity expansion)")
    two = valid.replace("<samlp:NameIDPolicy", f"{sig}<samlp:NameIDPolicy", 1)
    add("two-signatures.xml", two, "authn", "refuse", "valid-signed with a second copy of its Signature (exactly one allowed)")
    lo = sign(logout("_c0rpus0logout", "jsmith.evil"), kind="LogoutRequest")
    add("logout-valid.xml", lo, "logout", "accept", "LogoutRequest signed by the SP key (control)")
    add("logout-comment-in-nameid.xml", lo.replace("jsmith.evil", "jsmith<!---->.evil"), "logout", "refuse",
        "logout-valid with a comment inserted in NameID: the signature still verifies (c14n drops comments), "
        "a reader taking the first text node would see 'jsmith'")
    (HERE / "manifest.json").write_text(json.dumps(items, indent=2) + "\n")


if __name__ == "__main__":
    main()
