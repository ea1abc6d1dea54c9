// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title EscrowForger
/// @notice Test-only contract. It lets a test check that a precompile credits
///         escrow only for a plain CALL whose target is the precompile itself:
///         CALLCODE runs the precompile in the caller's context, so the caller
///         pays itself (no value really moves), and DELEGATECALL carries no
///         value at all (msg.value is only apparent there). Each entry point
///         bubbles up the inner call's revert data verbatim and otherwise
///         returns the inner return data.
contract EscrowForger {
    /// Lets the contract hold OPEN.
    receive() external payable {}

    /// Plain CALL to `target`, forwarding msg.value, `data` and all remaining gas.
    function viaCall(address target, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    /// CALLCODE to `target` with callvalue(), `data` and all remaining gas.
    function viaCallcode(address target, bytes calldata data) external payable returns (bytes memory) {
        bytes memory input = data;
        bool ok;
        bytes memory ret;
        assembly ("memory-safe") {
            ok := callcode(gas(), target, callvalue(), add(input, 32), mload(input), 0, 0)
            let size := returndatasize()
            ret := mload(0x40)
            mstore(ret, size)
            returndatacopy(add(ret, 32), 0, size)
            mstore(0x40, add(add(ret, 32), and(add(size, 31), not(31))))
        }
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    /// DELEGATECALL to `target` with `data` and all remaining gas
    /// (msg.value is only apparent in the callee).
    function viaDelegatecall(address target, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.delegatecall(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }
}
