/* Tokens made by an independent implementation (Python "cryptography", the
 * RFC 8037 A.1 Ed25519 key under kid "rfc8037"), issued at 1700000000 by
 * urn:sitetoken:PS1 for urn:sitetoken:gateway: a client token (bulk
 * registration, gen 1, 90 days), an access token (8 hours), a bulk token. */
#ifndef SITETOKEN_FIXED_TOKENS_H
#define SITETOKEN_FIXED_TOKENS_H

#define FIXED_JWKS                                                                                 \
    "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"rfc8037\",\"alg\":\"EdDSA\","       \
    "\"use\":\"sig\",\"status\":\"active\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}" \
    "]}"
#define FIXED_IAT 1700000000
#define FIXED_CLIENT                                                                               \
    "eyJhbGciOiJFZERTQSIsImtpZCI6InJmYzgwMzciLCJ0eXAiOiJzaXRldG9rZW4tY2xpZW50K2p3dCJ9.eyJpc3MiO"   \
    "iJ1cm46c2l0ZXRva2VuOlBTMSIsImF1ZCI6InVybjpzaXRldG9rZW46Z2F0ZXdheSIsImlhdCI6MTcwMDAwMDAwMCw"   \
    "ibmJmIjoxNzAwMDAwMDAwLCJleHAiOjE3MDc3NzYwMDAsImp0aSI6InE4VXEwbTNuMmhWMWxZRmY4azJROUEiLCJza"   \
    "XRlIjoiUFMxIiwic3ViIjoiR1VJRDowZjhmYWQ1Yi1kOWNiLTQ2OWYtYTE2NS03MDg2NzcyODk1MGUiLCJjbmYiOns"   \
    "iamt0Ijoia1ByS19xbXhWV2FZVkE5d3dCRjZJdW8zdlZ6ejdUeEhDVHdYQnlnclM0ayJ9LCJyZWciOiJidWxrIiwiY"   \
    "nVsayI6IjliMmM2ZDFlLTNmNGEtNGI1Yy04ZDZlLTdmODA5MWEyYjNjNCIsImdlbiI6MX0.NwUau0Oh6nY0u5CnINF"   \
    "sUhVaMaQtd7Vf6GODN5Y8ynp0NAyJxxhDTM6rv8PdC2cEjZuKvft8NtNjxTEELLQbBA"
#define FIXED_ACCESS                                                                               \
    "eyJhbGciOiJFZERTQSIsImtpZCI6InJmYzgwMzciLCJ0eXAiOiJzaXRldG9rZW4tYWNjZXNzK2p3dCJ9.eyJpc3MiO"   \
    "iJ1cm46c2l0ZXRva2VuOlBTMSIsImF1ZCI6InVybjpzaXRldG9rZW46Z2F0ZXdheSIsImlhdCI6MTcwMDAwMDAwMCw"   \
    "ibmJmIjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMjg4MDAsImp0aSI6IlpyM3Y3eXEwZTZ4VDhwUW0xd0s0YkEiLCJza"   \
    "XRlIjoiUFMxIiwic3ViIjoiR1VJRDowZjhmYWQ1Yi1kOWNiLTQ2OWYtYTE2NS03MDg2NzcyODk1MGUiLCJjbmYiOns"   \
    "iamt0Ijoia1ByS19xbXhWV2FZVkE5d3dCRjZJdW8zdlZ6ejdUeEhDVHdYQnlnclM0ayJ9fQ.qAqI09snolmEaRrlmm"   \
    "OVWAoOQsJ08OTWQGdJNx1vUtI5fNudgthtU9ucifSkB4QwoaL1tEoHdT1wjosuaJPbCQ"
#define FIXED_BULK                                                                                 \
    "eyJhbGciOiJFZERTQSIsImtpZCI6InJmYzgwMzciLCJ0eXAiOiJzaXRldG9rZW4tYnVsaytqd3QifQ.eyJpc3MiOiJ"   \
    "1cm46c2l0ZXRva2VuOlBTMSIsImF1ZCI6InVybjpzaXRldG9rZW46Z2F0ZXdheSIsImlhdCI6MTcwMDAwMDAwMCwib"   \
    "mJmIjoxNzAwMDAwMDAwLCJleHAiOjE3MDAyNTkyMDAsImp0aSI6IjliMmM2ZDFlLTNmNGEtNGI1Yy04ZDZlLTdmODA"   \
    "5MWEyYjNjNCIsInNpdGUiOiJQUzEifQ.hAx8EPcXQR60otk_cXmL1r8UkO4HSZllYTIj14TBFn5bBFW94mtZrFrLrX"   \
    "LhT31VI5WA9ClXDVRDWl7Ka-THBQ"

#endif
