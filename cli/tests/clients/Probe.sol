// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "ILineage.sol";

/// The attribution precompile's read-only surface.
interface IAttribution {
    function governor() external view returns (address);
    function isKeyAllowed(bytes32 vkHash) external view returns (bool);
}

/// A contract the client tests deploy: it emits logs, reverts with a
/// reason, and calls the attribution precompile from Solidity.
contract Probe {
    event Ping(address indexed from, uint256 value, string note);

    IAttribution constant ATTRIBUTION = IAttribution(address(uint160(0x4c4e0001)));
    IRegistry constant REGISTRY = IRegistry(address(uint160(0x4c4e0002)));
    uint256 public total;

    function ping(uint256 value, string calldata note) external {
        total += value;
        emit Ping(msg.sender, value, note);
    }

    function fail(uint256 value) external pure returns (uint256) {
        require(value < 10, "too large");
        return value;
    }

    function attributionGovernor() external view returns (address) {
        return ATTRIBUTION.governor();
    }

    function keyAllowed(bytes32 vkHash) external view returns (bool) {
        return ATTRIBUTION.isKeyAllowed(vkHash);
    }

    /// Registers a datanet owned by this contract, then appends to it.
    function curate(bytes32 root, uint64 contributions, string calldata licence) external returns (uint256 id, uint32 version) {
        id = REGISTRY.registerDatanet(root, contributions, licence, "");
        version = REGISTRY.appendContributions(id, keccak256(abi.encode(root)), contributions + 1);
    }
}
